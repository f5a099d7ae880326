/**
 * Audio level of a MediaStream through Web Audio (an AnalyserNode): the RMS
 * of the latest block of samples, 0 (silence) to 1 (full scale). Used for the
 * speaker's mic meter and the listener's activity bar.
 *
 * Chromium only hands remote WebRTC audio to Web Audio while the same stream
 * also plays through a media element; the listener page does that.
 */

let shared: AudioContext | undefined;

/** One AudioContext per page (browsers limit how many may exist). Undefined where Web Audio is missing. */
export function sharedAudioContext(): AudioContext | undefined {
  if (shared && shared.state !== "closed") return shared;
  if (typeof window === "undefined") return undefined;
  const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return undefined;
  shared = new Ctor({ latencyHint: "interactive" });
  return shared;
}

/** Resumes the shared context; call it from a click (autoplay policies start contexts suspended). */
export function resumeAudioContext(): void {
  const ctx = sharedAudioContext();
  if (ctx && ctx.state === "suspended") void ctx.resume().catch(() => undefined);
}

/**
 * Resumes the shared context if it exists and is suspended, without creating
 * one (for any later touch: a context created after the tap, outside a
 * gesture, starts suspended on iOS Safari).
 */
export function resumeIfSuspended(): void {
  if (shared && shared.state === "suspended") void shared.resume().catch(() => undefined);
}

/** RMS of samples centred on 0 (Float32 time-domain data). */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length);
}

/** A meter's fill for an RMS level, on a dBFS scale: -60 dB → 0, 0 dB → 1. */
export function meterFraction(level: number): number {
  if (!(level > 0)) return 0;
  return Math.min(1, Math.max(0, (20 * Math.log10(level) + 60) / 60));
}

export interface LevelMeter {
  /** The current RMS level, 0..1. */
  read(): number;
  close(): void;
}

export function createLevelMeter(stream: MediaStream, context: AudioContext | undefined = sharedAudioContext()): LevelMeter | undefined {
  if (!context || stream.getAudioTracks().length === 0) return undefined;
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const buffer = new Float32Array(analyser.fftSize);
  return {
    read() {
      analyser.getFloatTimeDomainData(buffer);
      return rms(buffer);
    },
    close() {
      try {
        source.disconnect();
        analyser.disconnect();
      } catch {
        // already disconnected
      }
    },
  };
}
