import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { EarshotError } from "../../../core/errors";
import { killGroup } from "./apertium";

/**
 * One recognition stream: a long-lived `pocketsphinx_continuous` reading a
 * WAV from its stdin (a RIFF header with "endless" sizes, then 16 kHz s16le
 * mono PCM as it arrives) and printing one line per utterance, each followed
 * by its words' times (`-time yes`: "word start end confidence", seconds
 * from the start of the stream).
 *
 * pocketsphinx opens /dev/stdin itself, which fails on Node's socketpair
 * stdin ("No such device or address"): `cat` in front gives it a real pipe.
 */

export const SAMPLE_RATE = 16_000;

/** Audio waiting for pocketsphinx beyond this (60 s) means it cannot keep up: the stream fails rather than lag without bound. */
const MAX_BACKLOG_BYTES = 60 * SAMPLE_RATE * 2;

export interface Utterance {
  /** Recognised words, lower case, no punctuation. */
  text: string;
  /** Ms from the start of the stream. */
  startMs: number;
  endMs: number;
}

export interface RecognitionStream {
  /** Feeds 16 kHz s16le mono PCM. */
  write(pcm: Uint8Array): void;
  /** No more audio: resolves once the last utterance is out and the process has exited. */
  end(): Promise<void>;
  /** Stops at once. */
  kill(): void;
  readonly pid?: number;
}

export interface RecognitionHandlers {
  onUtterance(utterance: Utterance): void;
  /** The process failed (not after end() or kill()). */
  onError(error: EarshotError): void;
}

export interface PocketsphinxOptions {
  /** Frames (10 ms) of silence that end an utterance (pocketsphinx's default 50). */
  postSpeechFrames?: number;
}

/** The 44-byte WAV header of an unbounded 16 kHz mono s16le stream. */
export function endlessWavHeader(sampleRate = SAMPLE_RATE): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(0xffffffff - 8, 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(0xffffffff - 44, 40);
  return h;
}

const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/;
const FILLER = /^(<s>|<\/s>|<sil>|\[[a-z]+\]|\+\+[a-z]+\+\+)$/i;

/**
 * Parses pocketsphinx_continuous -time yes output, line by line: a
 * hypothesis line, then its word lines ending with </s>.
 */
export class UtteranceParser {
  private text?: string;
  private startMs?: number;
  private endMs?: number;

  constructor(private readonly emit: (u: Utterance) => void) {}

  line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    const word = WORD_LINE.exec(line);
    if (!word || this.text === undefined) {
      if (word) return; // word times without a hypothesis: nothing to say
      this.flush();
      this.text = line;
      return;
    }
    const [, w, start, end] = word;
    if (w === "</s>") {
      this.flush();
      return;
    }
    if (FILLER.test(w ?? "")) return;
    const s = Math.round(Number(start) * 1000);
    const e = Math.round(Number(end) * 1000);
    this.startMs ??= s;
    this.endMs = Math.max(this.endMs ?? e, e);
  }

  /** Emits the utterance in progress, if any (on </s>, the next hypothesis, or the end of output). */
  flush(): void {
    const text = this.text?.replace(/\(\d+\)/g, "").replace(/\s+/g, " ").trim();
    if (text) this.emit({ text, startMs: this.startMs ?? 0, endMs: this.endMs ?? this.startMs ?? 0 });
    this.text = undefined;
    this.startMs = undefined;
    this.endMs = undefined;
  }
}

export function startPocketsphinx(handlers: RecognitionHandlers, options: PocketsphinxOptions = {}): RecognitionStream {
  const args = ["-infile", "/dev/stdin", "-logfn", "/dev/null", "-time", "yes"];
  if (options.postSpeechFrames !== undefined) args.push("-vad_postspeech", String(options.postSpeechFrames));
  const child: ChildProcessWithoutNullStreams = spawn("sh", ["-c", 'cat | exec pocketsphinx_continuous "$@"', "pocketsphinx", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let finished = false;
  let stderr = "";
  let pending = "";
  const parser = new UtteranceParser((u) => handlers.onUtterance(u));
  const exited = new Promise<void>((resolve) => {
    child.on("close", (code, signal) => {
      if (pending) parser.line(pending);
      parser.flush();
      resolve();
      if (!finished) {
        finished = true;
        handlers.onError(
          new EarshotError("ENGINE_UNAVAILABLE", `pocketsphinx stopped (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}.`),
        );
      }
    });
  });
  child.on("error", (error) => {
    if (finished) return;
    finished = true;
    handlers.onError(new EarshotError("ENGINE_UNAVAILABLE", `pocketsphinx cannot start: ${error.message}`, { cause: error }));
  });
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      parser.line(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-1000)));
  child.stdin.on("error", () => undefined);
  child.stdin.write(endlessWavHeader());

  return {
    pid: child.pid,
    write(pcm) {
      if (finished || pcm.length === 0) return;
      if (child.stdin.writableLength > MAX_BACKLOG_BYTES) {
        finished = true;
        killGroup(child);
        handlers.onError(new EarshotError("ENGINE_UNAVAILABLE", "pocketsphinx cannot keep up with the audio (over a minute behind); the machine is too busy."));
        return;
      }
      child.stdin.write(pcm);
    },
    async end() {
      if (!finished) {
        finished = true;
        // A second of silence lets the last utterance end before the input does.
        child.stdin.end(Buffer.alloc(SAMPLE_RATE * 2));
      }
      await exited;
    },
    kill() {
      finished = true;
      killGroup(child);
    },
  };
}
