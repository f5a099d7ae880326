import type { LanguageCode } from "../../core/languages";
import type { RecognizerMessage, ServerMessage } from "../../core/protocol";
import { Segmenter, type RecognizerResult } from "../../core/segmenter";
import type { Segment } from "../../core/speech";
import type { ControlChannel } from "../control-channel";
import { isSessionGone } from "../errors";
import { PCM_CHUNK_MS, PcmCapture, type PcmCaptureOptions } from "../media/pcm-capture";
import {
  MAX_LINES,
  withSegmentProcessed,
  type OpenTranscribe,
  type RecognitionEngine,
  type RecognitionState,
  type RecognitionStatus,
  type RecognizerChoice,
  type TranscribeConnection,
} from "./recognition-state";
import { WEB_SPEECH_TAGS, hasWebSpeech, webSpeechConstructor, type WebSpeechRecognition } from "./web-speech";

export * from "./recognition-state";
export { hasWebSpeech, webSpeechConstructor, type WebSpeechRecognition, type WebSpeechRecognitionCtor } from "./web-speech";

/**
 * The speaker's speech recognition for one session, framework-free (the page
 * reads it through `useSyncExternalStore`: `subscribe` + `getState`).
 *
 * Two recognisers, one path:
 * - `server`: asks `getRecognizer` on the control channel; for `local` (the
 *   embedded runtime's pocketsphinx endpoint) and `aws` (Amazon Transcribe,
 *   presigned in the browser) it captures the microphone as 16 kHz PCM
 *   (lib/client/media/pcm-capture.ts) and streams it over a WebSocket that
 *   speaks Transcribe's streaming protocol (lib/client/speech/transcribe-client.ts,
 *   plugged in as `openTranscribe`);
 * - `browser`: the Web Speech API (webkitSpeechRecognition, continuous, with
 *   interim results), when the speaker turns it on where the browser has it.
 *
 * Either way the results go through the Segmenter (lib/core/segmenter.ts) and
 * each segment is sent as `submitTranscript` on the control channel, with
 * `spokenAt` the wall clock at the phrase's end (the stream's start on the
 * wall clock plus the segment's end in stream time) so the pipeline can tell
 * the lag. A dropped stream is reopened with a backoff; pause and mute stop
 * recognition (nothing is sent while listeners hear nothing) and resume
 * restarts it. `segmentProcessed` pushes fill the per-language pipeline
 * status and the transcript's translations (recognition-state.ts).
 *
 * Why it stays one file past 400 lines: it has one job, the life of one
 * session's recognition. Both engines run under the same `run` counter
 * (every callback of an older start is ignored), the same retry, and feed
 * the same Segmenter and epoch, whose seqs and times must continue across
 * restarts and engine switches; apart, each would need the others' private
 * state. The state and its pure rules (recognition-state.ts), the Web Speech
 * API's detection and types (web-speech.ts), the capture and the stream
 * client are in files of their own.
 */

export interface SpeakerRecognitionOptions {
  channel: ControlChannel;
  sessionId: string;
  sourceLanguage: LanguageCode;
  /** Opens a Transcribe-protocol stream (the page passes transcribe-client's). Absent: only the browser recogniser works. */
  openTranscribe?: OpenTranscribe;
  /** Start with the browser's recogniser (the session was created with it). */
  choice?: RecognizerChoice;
  now?: () => number;
  /** Starts the microphone capture (default PcmCapture.start; tests pass a fake). */
  startCapture?: (stream: MediaStream, options: PcmCaptureOptions) => Promise<Capture>;
}

/** What recognition needs of a running capture. */
export interface Capture {
  stop(): Promise<void>;
}

const RETRY_MS = [1_000, 2_000, 4_000, 8_000, 15_000];


export class SpeakerRecognition {
  private state: RecognitionState;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  private segmenter: Segmenter;
  /** Wall clock at the start of recognition (time 0 of the first stream: its first audio), ms. */
  private epoch: number | undefined;

  private stream: MediaStream | undefined;
  private active = false;
  private disposed = false;
  /** Bumped at each (re)start and stop: callbacks of an older run do nothing. */
  private run = 0;
  private capture: Capture | undefined;
  private transcribe: TranscribeConnection | undefined;
  /** Wall clock at the current Transcribe stream's time 0. */
  private streamEpoch: number | undefined;
  private webSpeech: WebSpeechRecognition | undefined;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private offMessage: (() => void) | undefined;

  constructor(private readonly options: SpeakerRecognitionOptions) {
    this.now = options.now ?? Date.now;
    this.segmenter = new Segmenter({ now: this.now });
    this.state = { recognizer: { status: "off" }, choice: options.choice ?? "server", lines: [], pipeline: {}, submitted: 0 };
    this.attach();
  }

  /** Follows the channel's pipeline pushes (again after dispose(): React may unmount and remount an effect). */
  attach(): void {
    this.disposed = false;
    this.offMessage ??= this.options.channel.on("message", (m) => this.onMessage(m));
  }

  // ------------------------------------------------------------------ store

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): RecognitionState => this.state;

  private set(patch: Partial<RecognitionState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  private setRecognizer(recognizer: RecognitionStatus): void {
    this.set({ recognizer });
  }

  // --------------------------------------------------------------- control

  /**
   * Runs recognition on this stream while `active` (live and neither paused
   * nor muted); stops it otherwise. Safe to call on every render.
   */
  update(stream: MediaStream | undefined, active: boolean): void {
    if (this.disposed) return;
    const want = active && stream !== undefined;
    if (stream === this.stream && want === this.active) return;
    this.stop();
    this.stream = stream;
    this.active = want;
    if (want) void this.start();
    else this.setRecognizer({ status: "off" });
  }

  /** Switches between the server's recogniser and the browser's (Web Speech). */
  setChoice(choice: RecognizerChoice): void {
    if (choice === this.state.choice) return;
    this.set({ choice });
    if (this.active) {
      this.stop();
      void this.start();
    }
  }

  /** Stops recognition and stops following the channel; attach() and update() start again. */
  dispose(): void {
    this.disposed = true;
    this.stop();
    this.stream = undefined;
    this.active = false;
    this.offMessage?.();
    this.offMessage = undefined;
  }

  private stop(): void {
    this.run++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const capture = this.capture;
    this.capture = undefined;
    void capture?.stop();
    const transcribe = this.transcribe;
    this.transcribe = undefined;
    // A graceful end lets the last utterance come back; its results are still segmented.
    transcribe?.end().catch(() => transcribe.close());
    const speech = this.webSpeech;
    this.webSpeech = undefined;
    if (speech) {
      speech.onend = null;
      speech.onresult = null;
      speech.onerror = null;
      try {
        speech.stop();
      } catch {
        // already stopped
      }
    }
    this.emit(this.segmenter.flush());
    if (this.state.partial) this.set({ partial: undefined });
  }

  private async start(): Promise<void> {
    const run = ++this.run;
    if (this.state.choice === "browser") {
      this.startWebSpeech(run);
      return;
    }
    await this.startServer(run);
  }

  private scheduleRetry(run: number, engine: RecognitionEngine | undefined, message: string): void {
    if (run !== this.run || !this.active) return;
    const delay = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)]!;
    this.retries++;
    this.setRecognizer({ status: "error", engine, message, retrying: true });
    this.retryTimer = setTimeout(() => {
      if (run !== this.run || !this.active) return;
      this.stop();
      void this.start();
    }, delay);
  }

  // ---------------------------------------------------------- server engine

  private async startServer(run: number): Promise<void> {
    const { channel } = this.options;
    let recognizer: RecognizerMessage;
    try {
      recognizer = await channel.request({ action: "getRecognizer" });
    } catch (e) {
      if (run !== this.run) return;
      if (isSessionGone(e)) {
        this.setRecognizer({ status: "off", reason: "The session has ended." });
        return;
      }
      this.scheduleRetry(run, undefined, `Could not reach the recogniser: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (run !== this.run) return;
    this.adoptNextSeq(recognizer.nextSeq);
    if (recognizer.engine === "off") {
      this.setRecognizer({
        status: "off",
        reason: hasWebSpeech()
          ? "Speech recognition is off on this server. You can use your browser's recogniser instead."
          : "Speech recognition is off on this server.",
      });
      return;
    }
    const engine = recognizer.engine;
    const open = this.options.openTranscribe;
    if (!open) {
      this.setRecognizer({ status: "error", engine, message: "This page cannot stream audio to the recogniser.", retrying: false });
      return;
    }
    this.setRecognizer({ status: "connecting", engine });
    const stream = this.stream;
    if (!stream) return;
    let connection: TranscribeConnection;
    try {
      connection = await open(recognizer, {
        onResult: (result) => {
          if (run === this.run) this.onResult(result, this.streamEpoch);
        },
        onClose: (error) => {
          if (run !== this.run) return;
          this.transcribe = undefined;
          void this.capture?.stop();
          this.capture = undefined;
          this.emit(this.segmenter.flush());
          if (this.state.partial) this.set({ partial: undefined });
          this.scheduleRetry(run, engine, error ? `The recogniser's stream dropped: ${error.message}` : "The recogniser closed the stream.");
        },
      });
    } catch (e) {
      this.scheduleRetry(run, engine, `Could not open the recogniser's stream: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (run !== this.run) {
      connection.close();
      return;
    }
    this.transcribe = connection;
    this.streamEpoch = undefined;
    try {
      const startCapture = this.options.startCapture ?? ((s: MediaStream, o: PcmCaptureOptions) => PcmCapture.start(s, o));
      this.capture = await startCapture(stream, {
        sampleRate: recognizer.sampleRate,
        onChunk: (pcm) => {
          if (run !== this.run || !this.transcribe) return;
          // Stream time 0 on the wall clock: the first chunk's audio began one chunk before it arrived.
          this.streamEpoch ??= this.now() - PCM_CHUNK_MS;
          this.epoch ??= this.streamEpoch;
          this.transcribe.send(pcm);
        },
      });
    } catch (e) {
      if (run !== this.run) return;
      connection.close();
      this.transcribe = undefined;
      this.setRecognizer({ status: "error", engine, message: e instanceof Error ? e.message : String(e), retrying: false });
      return;
    }
    if (run !== this.run) {
      void this.capture?.stop();
      return;
    }
    this.retries = 0;
    this.setRecognizer({ status: "listening", engine });
  }

  // ------------------------------------------------------------- Web Speech

  private startWebSpeech(run: number): void {
    // Where the session's final seqs continue (after a reload); the browser recogniser needs nothing else of the reply.
    this.options.channel.request({ action: "getRecognizer" }).then(
      (r) => {
        if (run === this.run) this.adoptNextSeq(r.nextSeq);
      },
      () => undefined,
    );
    const Ctor = webSpeechConstructor();
    if (!Ctor) {
      this.setRecognizer({ status: "error", engine: "browser", message: "This browser has no speech recognition.", retrying: false });
      return;
    }
    const recognition = new Ctor();
    recognition.continuous = true;
    recognition.interimResults = true;
    recognition.lang = WEB_SPEECH_TAGS[this.options.sourceLanguage] ?? this.options.sourceLanguage;
    // Web Speech gives no times: stream time is ms since this recognition started, its start the first result's arrival.
    const streamEpoch = this.now();
    this.epoch ??= streamEpoch;
    const starts = new Map<number, number>();
    recognition.onresult = (event) => {
      if (run !== this.run) return;
      const at = this.now() - streamEpoch;
      for (let i = event.resultIndex; i < event.results.length; i++) {
        const result = event.results[i]!;
        const text = result[0]?.transcript ?? "";
        if (!starts.has(i)) starts.set(i, Math.max(0, at - 1000));
        this.onResult({ resultId: `${run}-${i}`, text, startMs: starts.get(i)!, endMs: at, partial: !result.isFinal }, streamEpoch);
      }
    };
    recognition.onerror = (event) => {
      if (run !== this.run) return;
      if (event.error === "no-speech" || event.error === "aborted") return; // onend restarts
      const fatal = event.error === "not-allowed" || event.error === "service-not-allowed" || event.error === "language-not-supported";
      const message = `The browser's recogniser stopped: ${event.error}${event.message ? ` (${event.message})` : ""}.`;
      if (fatal) {
        this.webSpeech = undefined;
        this.setRecognizer({ status: "error", engine: "browser", message, retrying: false });
        this.run++;
      } else this.setRecognizer({ status: "error", engine: "browser", message, retrying: true });
    };
    // Chrome ends continuous recognition after a silence or about a minute: start again while active.
    recognition.onend = () => {
      if (run !== this.run || !this.active) return;
      this.emit(this.segmenter.flush());
      this.webSpeech = undefined;
      const delay = this.state.recognizer.status === "error" ? RETRY_MS[Math.min(this.retries++, RETRY_MS.length - 1)]! : 0;
      this.retryTimer = setTimeout(() => {
        if (run === this.run && this.active) this.startWebSpeech(++this.run);
      }, delay);
    };
    recognition.onstart = () => {
      if (run !== this.run) return;
      this.retries = 0;
      this.setRecognizer({ status: "listening", engine: "browser" });
    };
    this.webSpeech = recognition;
    this.setRecognizer({ status: "connecting", engine: "browser" });
    try {
      recognition.start();
    } catch (e) {
      this.setRecognizer({ status: "error", engine: "browser", message: e instanceof Error ? e.message : String(e), retrying: false });
    }
  }

  /** Continues the session's seqs where the server says they are (a reloaded page starts at 0 otherwise). */
  private adoptNextSeq(nextSeq: number | undefined): void {
    if (nextSeq !== undefined && nextSeq > this.segmenter.nextSeq) {
      this.emit(this.segmenter.flush());
      this.segmenter = new Segmenter({ now: this.now, startSeq: nextSeq });
    }
  }

  // ----------------------------------------------------------- segments out

  /** A result of the stream whose time 0 is `streamEpoch` on the wall clock. */
  private onResult(result: RecognizerResult, streamEpoch: number | undefined): void {
    // Times from the start of recognition, across streams: they only grow.
    const offset = Math.max(0, (streamEpoch ?? this.now()) - (this.epoch ?? this.now()));
    const segments = this.segmenter.push({ ...result, startMs: result.startMs + offset, endMs: result.endMs + offset });
    this.emit(segments);
  }

  private emit(segments: Segment[]): void {
    for (const segment of segments) {
      const startMs = Math.max(0, Math.round(segment.startMs));
      const endMs = Math.max(startMs, Math.round(segment.endMs));
      // The wall clock at the phrase's end, never in the future.
      const spokenAt = this.epoch === undefined ? this.now() : Math.min(this.now(), Math.round(this.epoch + endMs));
      if (segment.final) {
        const lines = [...this.state.lines, { seq: segment.seq, text: segment.text, startMs, endMs, translations: {}, lags: {} }].slice(-MAX_LINES);
        const partial = this.state.partial && this.state.partial.seq > segment.seq ? this.state.partial : undefined;
        this.set({ lines, partial });
      } else {
        this.set({ partial: { seq: segment.seq, text: segment.text } });
      }
      this.submit({ ...segment, startMs, endMs, spokenAt });
    }
  }

  private submit(segment: Segment): void {
    const { channel } = this.options;
    if (channel.state !== "open") return; // a partial or final lost while the channel is down: nothing to queue (the next ones follow)
    channel
      .request({
        action: "submitTranscript",
        seq: segment.seq,
        text: segment.text,
        startMs: segment.startMs,
        endMs: segment.endMs,
        final: segment.final,
        ...(segment.spokenAt !== undefined ? { spokenAt: segment.spokenAt } : {}),
      })
      .then(
        () => {
          if (segment.final) this.set({ submitted: this.state.submitted + 1, submitError: undefined });
        },
        (e: unknown) => {
          if (this.disposed) return;
          const message = e instanceof Error ? e.message : String(e);
          // After a reload the server is ahead of a fresh segmenter: continue from the seq it names.
          const ahead = /next segment's seq is at least (\d+)/.exec(message);
          if (ahead) {
            const next = Number(ahead[1]);
            if (next > segment.seq && this.segmenter.nextSeq <= next) {
              this.segmenter = new Segmenter({ now: this.now, startSeq: segment.final ? next + 1 : next });
              if (segment.final) {
                this.set({ lines: this.state.lines.map((l) => (l.seq === segment.seq ? { ...l, seq: next } : l)) });
                this.submit({ ...segment, seq: next });
              }
              return;
            }
          }
          this.set({ submitError: message });
        },
      );
  }

  // ------------------------------------------------------------ pipeline in

  private onMessage(message: ServerMessage): void {
    if (message.type !== "segmentProcessed" || message.sessionId !== this.options.sessionId) return;
    this.set(withSegmentProcessed(this.state, message));
  }
}

