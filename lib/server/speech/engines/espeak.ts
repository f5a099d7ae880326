import { spawn } from "node:child_process";
import { EarshotError } from "../../../core/errors";
import { SYNTHESIZER_VOICES } from "../../../core/speech";
import { killGroup } from "./apertium";

/**
 * espeak-ng -> lame: a sentence to MP3 (~32 kbps mono at espeak's 22.05 kHz).
 * espeak-ng takes a few milliseconds a sentence, so each call is its own
 * short process; at most `concurrency` run at once, the rest wait in order.
 */

export interface EspeakOptions {
  /** Simultaneous syntheses (default 2: one per core here). */
  concurrency?: number;
  /** Words per minute (espeak's default 175). */
  wordsPerMinute?: number;
  bitrateKbps?: number;
  timeoutMs?: number;
}

/** Voices the local synthesizer accepts: the espeak-ng names in lib/core/speech.ts. */
export const ESPEAK_VOICES: ReadonlySet<string> = new Set(Object.values(SYNTHESIZER_VOICES.local).map((v) => v!.voice));

export interface EspeakSpeech {
  audio: Uint8Array;
  /** Duration of the speech (from the PCM espeak produced). */
  durationMs: number;
}

export class EspeakSynthesizer {
  private readonly concurrency: number;
  private readonly wpm: number;
  private readonly bitrate: number;
  private readonly timeoutMs: number;
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private closed = false;

  constructor(options: EspeakOptions = {}) {
    this.concurrency = options.concurrency ?? 2;
    this.wpm = options.wordsPerMinute ?? 175;
    this.bitrate = options.bitrateKbps ?? 32;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async synthesize(text: string, voice: string): Promise<EspeakSpeech> {
    if (!ESPEAK_VOICES.has(voice)) throw new EarshotError("INVALID_PARAMETER", `espeak-ng voice "${voice}" is not one Earshot uses.`);
    if (this.closed) throw new EarshotError("ENGINE_UNAVAILABLE", "espeak-ng is shut down.");
    await this.slot();
    try {
      const wav = await run("espeak-ng", ["-v", voice, "-s", String(this.wpm), "--stdout"], Buffer.from(clean(text), "utf8"), this.timeoutMs);
      const { pcm, sampleRate } = parseWav(wav);
      const audio = await run(
        "lame",
        ["--quiet", "-r", "-s", String(sampleRate / 1000), "--bitwidth", "16", "--signed", "--little-endian", "-m", "m", "-b", String(this.bitrate), "-", "-"],
        pcm,
        this.timeoutMs,
      );
      return { audio: new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength), durationMs: Math.round((pcm.length / 2 / sampleRate) * 1000) };
    } finally {
      this.release();
    }
  }

  close(): void {
    this.closed = true;
  }

  private slot(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(() => (this.running++, resolve())));
  }

  private release(): void {
    this.running--;
    this.queue.shift()?.();
  }
}

function clean(text: string): string {
  // One line of text; espeak-ng would read markup-like input literally anyway (no -m).
  return `${text.replace(/[\u0000-\u001f\u007f]/g, " ").replace(/\s+/g, " ").trim()}\n`;
}

function run(command: string, args: string[], input: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new EarshotError("ENGINE_UNAVAILABLE", `${command} did not finish within ${timeoutMs} ms.`));
    }, timeoutMs);
    timer.unref();
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => (err = (err + c.toString("utf8")).slice(-1000)));
    child.stdin.on("error", () => undefined);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new EarshotError("ENGINE_UNAVAILABLE", `${command} cannot run: ${error.message}`, { cause: error }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new EarshotError("ENGINE_UNAVAILABLE", `${command} failed (${signal ?? `code ${code}`})${err.trim() ? `: ${err.trim()}` : ""}.`));
    });
    child.stdin.end(input);
  });
}

/** The PCM of espeak-ng's WAV (its header's sizes say "endless": the data runs to the end). */
export function parseWav(wav: Buffer): { pcm: Buffer; sampleRate: number } {
  if (wav.length < 12 || wav.toString("ascii", 0, 4) !== "RIFF" || wav.toString("ascii", 8, 12) !== "WAVE") {
    throw new EarshotError("ENGINE_UNAVAILABLE", "espeak-ng did not produce a WAV.");
  }
  let at = 12;
  let sampleRate = 22050;
  while (at + 8 <= wav.length) {
    const id = wav.toString("ascii", at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === "fmt ") sampleRate = wav.readUInt32LE(at + 12);
    if (id === "data") {
      const pcm = wav.subarray(at + 8);
      return { pcm: pcm.subarray(0, pcm.length - (pcm.length % 2)), sampleRate };
    }
    at += 8 + size + (size % 2);
  }
  throw new EarshotError("ENGINE_UNAVAILABLE", "espeak-ng's WAV has no data.");
}
