import type { SpeechMessage } from "../../core/protocol";
import { sharedAudioContext } from "./level";
import { SpeechQueue, type ScheduledSpeech, type SpeechPolicy } from "./speech-queue";

/**
 * The listener's player for translated speech: `speech` messages (base64 MP3,
 * maybe in parts) are reassembled, decoded with decodeAudioData, and played
 * gaplessly through Web Audio in seq order. The policy (when to speed up,
 * what to drop) is the pure SpeechQueue (speech-queue.ts).
 *
 * Output: sources -> a gain (volume, mute) -> an analyser (the level, and a
 * probe for tests) -> the speakers. The original (WebRTC) plays through the
 * page's <audio> element; the session ducks it while speech plays over it.
 *
 * Autoplay: unlock() must run inside the Listen tap (iOS Safari included): it
 * resumes the AudioContext and plays one silent buffer from the gesture.
 */

export interface SpeechPlayerOptions {
  policy?: Partial<SpeechPolicy>;
  /** The AudioContext (default: the page's shared one). */
  context?: () => AudioContext | undefined;
  /** Told whenever the seq being heard changes (undefined: silent). */
  onSpeaking?: (seq: number | undefined) => void;
  /** Told the seqs whose audio was dropped (late, or over the backlog ceiling). */
  onDropped?: (seqs: number[]) => void;
}

interface Partial_ {
  parts: (Uint8Array | undefined)[];
  received: number;
  durationMs: number;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Parts kept per seq while the others arrive; older incomplete ones are forgotten. */
const MAX_ASSEMBLING = 8;

export class SpeechPlayer {
  private readonly options: SpeechPlayerOptions;
  private readonly queue: SpeechQueue<AudioBuffer>;
  private readonly assembling = new Map<number, Partial_>();
  private readonly sources = new Map<number, AudioBufferSourceNode>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private ctx?: AudioContext;
  private gain?: GainNode;
  private analyser?: AnalyserNode;
  private decoding: Promise<void> = Promise.resolve();
  /** Bumped by stop(): decodes in flight for an older generation are thrown away. */
  private generation = 0;
  private volume = 1;
  private muted = false;
  private speakingSeq?: number;
  private readonly sample = new Float32Array(1024);
  /** Seqs whose audio started, newest last (for tests and the view). */
  readonly played: number[] = [];

  constructor(options: SpeechPlayerOptions = {}) {
    this.options = options;
    this.queue = new SpeechQueue<AudioBuffer>(options.policy);
  }

  /** The seq being heard now. */
  get speaking(): number | undefined {
    return this.speakingSeq;
  }

  /** Call synchronously inside the tap that starts listening. */
  unlock(): void {
    const ctx = this.context();
    if (!ctx) return;
    if (ctx.state === "suspended") void ctx.resume().catch(() => undefined);
    try {
      const silent = ctx.createBuffer(1, 1, ctx.sampleRate);
      const src = ctx.createBufferSource();
      src.buffer = silent;
      src.connect(ctx.destination);
      src.start(0);
    } catch {
      // nothing to unlock
    }
  }

  /** A `speech` message of the listener's language. */
  accept(message: SpeechMessage): void {
    if (message.format !== "mp3" || !(message.parts >= 1) || message.part < 0 || message.part >= message.parts) return;
    let entry = this.assembling.get(message.seq);
    if (!entry) {
      entry = { parts: new Array<Uint8Array | undefined>(message.parts).fill(undefined), received: 0, durationMs: message.durationMs };
      this.assembling.set(message.seq, entry);
      if (this.assembling.size > MAX_ASSEMBLING) this.assembling.delete(this.assembling.keys().next().value!);
    }
    if (entry.parts[message.part] !== undefined) return;
    try {
      entry.parts[message.part] = base64Bytes(message.audio);
    } catch {
      this.assembling.delete(message.seq);
      return;
    }
    entry.received++;
    if (entry.received < entry.parts.length) return;
    this.assembling.delete(message.seq);
    const total = entry.parts.reduce((n, p) => n + p!.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of entry.parts) {
      bytes.set(p!, at);
      at += p!.length;
    }
    this.enqueue(message.seq, bytes.buffer, entry.durationMs);
  }

  /** Stops at once: what plays, what is scheduled, what is queued or decoding. */
  stop(): void {
    this.generation++;
    this.assembling.clear();
    this.queue.clear();
    for (const src of this.sources.values()) {
      src.onended = null;
      try {
        src.stop();
        src.disconnect();
      } catch {
        // not started yet or already stopped
      }
    }
    this.sources.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.setSpeaking(undefined);
  }

  /** A new language (its seqs are not comparable with the old ones): stop and forget the order. */
  reset(): void {
    this.stop();
    this.queue.reset();
  }

  setVolume(volume: number, muted: boolean): void {
    this.volume = Math.min(1, Math.max(0, volume));
    this.muted = muted;
    if (this.gain && this.ctx) this.gain.gain.setTargetAtTime(this.muted ? 0 : this.volume, this.ctx.currentTime, 0.015);
  }

  /** RMS of what the speech output plays now (0 when nothing; also with mute, which is after the gain). */
  rms(): number {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.sample);
    let sum = 0;
    for (const s of this.sample) sum += s * s;
    return Math.sqrt(sum / this.sample.length);
  }

  close(): void {
    this.stop();
    try {
      this.gain?.disconnect();
      this.analyser?.disconnect();
    } catch {
      // already
    }
    this.gain = this.analyser = undefined;
  }

  // -------------------------------------------------------------------------

  private context(): AudioContext | undefined {
    if (this.ctx && this.ctx.state !== "closed") return this.ctx;
    this.ctx = (this.options.context ?? sharedAudioContext)();
    return this.ctx;
  }

  private output(ctx: AudioContext): AudioNode {
    if (this.gain) return this.gain;
    this.gain = ctx.createGain();
    this.gain.gain.value = this.muted ? 0 : this.volume;
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.analyser.smoothingTimeConstant = 0;
    this.gain.connect(this.analyser);
    this.analyser.connect(ctx.destination);
    return this.gain;
  }

  private enqueue(seq: number, data: ArrayBuffer, durationMs: number): void {
    const ctx = this.context();
    if (!ctx) return;
    const generation = this.generation;
    // Decoded one after another, so they are queued in arrival order (the queue also sorts by seq).
    this.decoding = this.decoding
      .then(() => ctx.decodeAudioData(data))
      .then(
        (buffer) => {
          if (generation !== this.generation) return;
          const now = ctx.currentTime * 1000;
          const dropped = this.queue.push({ seq, durationMs: buffer.duration * 1000 || durationMs, payload: buffer }, now);
          if (dropped.length) this.options.onDropped?.(dropped.map((d) => d.seq));
          this.pump();
        },
        () => this.options.onDropped?.([seq]),
      );
  }

  private pump(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (ctx.state === "suspended") void ctx.resume().catch(() => undefined);
    const now = ctx.currentTime * 1000;
    for (const s of this.queue.schedule(now)) this.start(ctx, s, now);
    this.updateSpeaking();
  }

  private start(ctx: AudioContext, s: ScheduledSpeech<AudioBuffer>, now: number): void {
    const src = ctx.createBufferSource();
    src.buffer = s.payload;
    src.playbackRate.value = s.rate;
    src.connect(this.output(ctx));
    src.onended = () => {
      if (this.sources.get(s.seq) === src) this.sources.delete(s.seq);
      this.pump();
    };
    this.sources.set(s.seq, src);
    src.start(s.startAt / 1000);
    // The caption being spoken changes at the start: a timer to say so (onended covers the end).
    const delay = Math.max(0, s.startAt - now);
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (generation !== this.generation) return;
      this.played.push(s.seq);
      if (this.played.length > 100) this.played.shift();
      this.updateSpeaking();
    }, delay);
    this.timers.add(timer);
  }

  private updateSpeaking(): void {
    const ctx = this.ctx;
    const seq = ctx ? this.queue.speakingAt(ctx.currentTime * 1000 + 5)?.seq : undefined;
    this.setSpeaking(seq);
  }

  private setSpeaking(seq: number | undefined): void {
    if (seq === this.speakingSeq) return;
    this.speakingSeq = seq;
    this.options.onSpeaking?.(seq);
  }
}
