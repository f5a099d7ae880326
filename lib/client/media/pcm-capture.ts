/**
 * The speaker's microphone as PCM for speech recognition: 16 kHz, 16-bit
 * signed little-endian (Int16Array in the platform's order: little-endian on
 * every browser platform), mono, in 100 ms chunks. Takes the same
 * MediaStream WebRTC sends (so what listeners hear and what is recognised
 * are one signal: mute and pause, which disable the track, give silence
 * here too).
 *
 * Runs in an AudioWorklet (public/worklets/pcm-capture.js, served from the
 * page's own origin: the CSP allows worklet modules from 'self' only). The
 * worklet downsamples from the context's rate (48 kHz typically) by
 * averaging, and posts each chunk as a transferred buffer.
 *
 * Browser-only; no React.
 */

import { ClientError } from "../errors";

export const PCM_SAMPLE_RATE = 16_000;
export const PCM_CHUNK_MS = 100;
/** Where Next serves the worklet module (public/worklets/pcm-capture.js). */
export const PCM_WORKLET_URL = "/worklets/pcm-capture.js";
const PROCESSOR = "earshot-pcm-capture";

export interface PcmCaptureOptions {
  /** Output rate, Hz (default 16 kHz). */
  sampleRate?: number;
  /** Chunk length, ms (default 100). */
  chunkMs?: number;
  /** Each chunk as it is ready: `sampleRate * chunkMs / 1000` samples (the last one on stop may be shorter). */
  onChunk: (pcm: Int16Array) => void;
  /** The worklet module's URL (tests may serve it elsewhere). */
  workletUrl?: string;
}

/** Capture could not start (a ClientError of kind `capture`). */
export class PcmCaptureError extends ClientError<"CAPTURE_FAILED"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("capture", "CAPTURE_FAILED", message, options);
    this.name = "PcmCaptureError";
  }
}

/** One capture of one MediaStream. Start with `PcmCapture.start()`, end with `stop()`. */
export class PcmCapture {
  private stopped = false;

  private constructor(
    private readonly context: AudioContext,
    private readonly source: MediaStreamAudioSourceNode,
    private readonly node: AudioWorkletNode,
    private readonly sink: GainNode,
  ) {}

  /** The rate of the context the microphone runs through (the input to downsampling). */
  get inputRate(): number {
    return this.context.sampleRate;
  }

  /**
   * Starts capturing. Rejects with a PcmCaptureError where Web Audio or
   * AudioWorklet is missing, the module does not load, or the stream has no
   * audio track.
   */
  static async start(stream: MediaStream, options: PcmCaptureOptions): Promise<PcmCapture> {
    if (stream.getAudioTracks().length === 0) throw new PcmCaptureError("The microphone stream has no audio track.");
    const Ctor = typeof window === "undefined" ? undefined : window.AudioContext;
    if (!Ctor) throw new PcmCaptureError("This browser has no Web Audio, so speech cannot be captured for recognition.");
    const sampleRate = options.sampleRate ?? PCM_SAMPLE_RATE;
    const chunkSamples = Math.round((sampleRate * (options.chunkMs ?? PCM_CHUNK_MS)) / 1000);
    const context = new Ctor({ latencyHint: "interactive" });
    try {
      if (!context.audioWorklet) throw new PcmCaptureError("This browser has no AudioWorklet, so speech cannot be captured for recognition.");
      await context.audioWorklet.addModule(options.workletUrl ?? PCM_WORKLET_URL);
      const source = context.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(context, PROCESSOR, {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        channelCount: 1,
        channelCountMode: "explicit",
        channelInterpretation: "speakers",
        processorOptions: { outputRate: sampleRate, chunkSamples },
      });
      node.port.onmessage = (event: MessageEvent<unknown>) => {
        if (event.data instanceof Int16Array) options.onChunk(event.data);
      };
      // The graph must reach the destination to be pulled; a zero gain keeps it silent.
      const sink = context.createGain();
      sink.gain.value = 0;
      source.connect(node);
      node.connect(sink);
      sink.connect(context.destination);
      if (context.state === "suspended") await context.resume().catch(() => undefined);
      return new PcmCapture(context, source, node, sink);
    } catch (error) {
      void context.close().catch(() => undefined);
      if (error instanceof PcmCaptureError) throw error;
      throw new PcmCaptureError("Could not start capturing the microphone for recognition.", { cause: error });
    }
  }

  /** Whether the audio context runs (a suspended one captures nothing: resume it from a click). */
  get running(): boolean {
    return !this.stopped && this.context.state === "running";
  }

  resume(): Promise<void> {
    return this.context.state === "suspended" ? this.context.resume() : Promise.resolve();
  }

  /** Stops: posts what is buffered (a short last chunk), disconnects, closes the context. The stream's tracks are the caller's. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.node.port.postMessage("stop");
    this.source.disconnect();
    this.node.disconnect();
    this.sink.disconnect();
    // The last chunk arrives as a message before the port closes; give it one turn of the event loop.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    this.node.port.onmessage = null;
    this.node.port.close();
    await this.context.close().catch(() => undefined);
  }
}
