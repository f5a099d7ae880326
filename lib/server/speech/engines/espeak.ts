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

/** espeak-ng's output rate (every voice Earshot uses). */
const ESPEAK_RATE = 22_050;

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
      return await this.piped(clean(text), voice);
    } finally {
      this.release();
    }
  }

  /**
   * espeak-ng and lame run at once, the PCM streamed from one to the other
   * (espeak-ng always speaks at 22.05 kHz; its WAV header is checked).
   */
  private piped(text: string, voice: string): Promise<EspeakSpeech> {
    return new Promise((resolve, reject) => {
      const espeak = spawn("espeak-ng", ["-v", voice, "-s", String(this.wpm), "--stdout"], { stdio: ["pipe", "pipe", "pipe"], detached: true });
      const lame = spawn(
        "lame",
        ["--quiet", "-r", "-s", String(ESPEAK_RATE / 1000), "--bitwidth", "16", "--signed", "--little-endian", "-m", "m", "-b", String(this.bitrate), "-", "-"],
        { stdio: ["pipe", "pipe", "pipe"], detached: true },
      );
      let settled = false;
      const fail = (message: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        killGroup(espeak);
        killGroup(lame);
        reject(new EarshotError("ENGINE_UNAVAILABLE", message, cause === undefined ? undefined : { cause }));
      };
      const timer = setTimeout(() => fail(`espeak-ng + lame did not finish within ${this.timeoutMs} ms.`), this.timeoutMs);
      timer.unref();
      let head: Buffer | undefined = Buffer.alloc(0);
      let pcmBytes = 0;
      let espeakErr = "";
      let lameErr = "";
      const mp3: Buffer[] = [];
      espeak.stdout.on("data", (chunk: Buffer) => {
        let data = chunk;
        if (head) {
          head = Buffer.concat([head, chunk]);
          const at = dataOffset(head);
          if (at === undefined) return;
          if (at.sampleRate !== ESPEAK_RATE) return fail(`espeak-ng spoke at ${at.sampleRate} Hz, not ${ESPEAK_RATE}.`);
          data = head.subarray(at.offset);
          head = undefined;
        }
        pcmBytes += data.length;
        lame.stdin.write(data);
      });
      espeak.stderr.on("data", (c: Buffer) => (espeakErr = (espeakErr + c.toString("utf8")).slice(-500)));
      lame.stderr.on("data", (c: Buffer) => (lameErr = (lameErr + c.toString("utf8")).slice(-500)));
      lame.stdout.on("data", (c: Buffer) => mp3.push(c));
      espeak.stdin.on("error", () => undefined);
      lame.stdin.on("error", () => undefined);
      espeak.on("error", (error) => fail(`espeak-ng cannot run: ${error.message}`, error));
      lame.on("error", (error) => fail(`lame cannot run: ${error.message}`, error));
      espeak.on("close", (code, signal) => {
        if (code !== 0) return fail(`espeak-ng failed (${signal ?? `code ${code}`})${espeakErr.trim() ? `: ${espeakErr.trim()}` : ""}.`);
        if (head) return fail("espeak-ng did not produce a WAV.");
        lame.stdin.end();
      });
      lame.on("close", (code, signal) => {
        if (code !== 0) return fail(`lame failed (${signal ?? `code ${code}`})${lameErr.trim() ? `: ${lameErr.trim()}` : ""}.`);
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const audio = Buffer.concat(mp3);
        resolve({ audio: new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength), durationMs: Math.round((Math.floor(pcmBytes / 2) / ESPEAK_RATE) * 1000) });
      });
      espeak.stdin.end(Buffer.from(text, "utf8"));
    });
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

/** Where the PCM starts in a WAV's first bytes, once the data chunk's header is in. */
function dataOffset(head: Buffer): { offset: number; sampleRate: number } | undefined {
  if (head.length < 12) return undefined;
  if (head.toString("ascii", 0, 4) !== "RIFF" || head.toString("ascii", 8, 12) !== "WAVE") return { offset: 0, sampleRate: -1 };
  let at = 12;
  let sampleRate = -1;
  while (at + 8 <= head.length) {
    const id = head.toString("ascii", at, at + 4);
    const size = head.readUInt32LE(at + 4);
    if (id === "fmt ") {
      if (at + 16 > head.length) return undefined;
      sampleRate = head.readUInt32LE(at + 12);
    }
    if (id === "data") return { offset: at + 8, sampleRate };
    at += 8 + size + (size % 2);
  }
  return undefined;
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
