import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EarshotError } from "../../../core/errors";
import type { LanguageCode } from "../../../core/languages";
import type { Logger } from "../../control/ports";
import { APERTIUM_MODES, APERTIUM_MODES_DIR, apertiumStages } from "./availability";

/**
 * Apertium, one persistent process chain per language pair. A one-shot
 * `apertium` call reloads every transducer (1-2 s); a chain kept running
 * answers a sentence in milliseconds. `apertium -z` does not flush per item,
 * so the chain is the pair's `.mode` pipeline run by bash with `-z` on every
 * stage: each sentence goes in terminated by NUL and comes out terminated by
 * NUL, in order, so a FIFO of waiters matches answers to questions.
 *
 * A chain that dies, or stops answering, fails what it holds with
 * ENGINE_UNAVAILABLE and is started again (at once for the next sentence, and
 * in the background after a back-off). Pairs share nothing: one broken pair
 * never blocks another.
 */

export interface ApertiumPairOptions {
  /** Mode name, e.g. eng-spa. */
  mode: string;
  /** Path of the `.mode` file (default: Debian's modes directory). */
  modeFile?: string;
  logger: Logger;
  /** A sentence not answered within this long kills the chain (default 20 s: the first load can take seconds on a busy machine). */
  timeoutMs?: number;
  /** Sentences waiting at most (default 200); beyond, requests fail at once. */
  maxQueue?: number;
}

interface Waiter {
  resolve(text: string): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  started: number;
}

/** Characters of Apertium's stream format that plain text must escape (as apertium-destxt does). */
const RESERVED = /[\\[\]^$/@<>{}~*#|]/g;

export function escapeApertium(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f]/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(RESERVED, (c) => `\\${c}`);
}

export function unescapeApertium(text: string): string {
  return text
    .replace(/(?<!\\)\[[^\]]*\]/g, "") // superblanks, should a stage emit any
    .replace(/\\(.)/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

/** The shell pipeline of a `.mode` file with `-z` on every stage, unknown words unmarked. */
export function nullFlushPipeline(modeText: string): string {
  return apertiumStages(modeText)
    .map((stage) => stage.replace(/^(\S+)/, "$1 -z").replace(/\$1/g, "-n").replace(/\$2/g, ""))
    .join(" | ");
}

export class ApertiumPair {
  readonly mode: string;
  private readonly modeFile: string;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private child?: ChildProcessWithoutNullStreams;
  private pending: Waiter[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private restartTimer?: NodeJS.Timeout;
  private failures = 0;
  private closed = false;
  /** Chains started (1 after the first start; more after restarts). */
  starts = 0;

  constructor(options: ApertiumPairOptions) {
    this.mode = options.mode;
    this.modeFile = options.modeFile ?? join(APERTIUM_MODES_DIR, `${options.mode}.mode`);
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.maxQueue = options.maxQueue ?? 200;
  }

  /** The chain's process group id (tests kill it to see the restart), if running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Translates one sentence. */
  translate(text: string): Promise<string> {
    if (this.closed) return Promise.reject(unavailable(`Apertium ${this.mode} is shut down.`));
    const input = escapeApertium(text);
    if (!input) return Promise.resolve("");
    if (this.pending.length >= this.maxQueue) {
      return Promise.reject(unavailable(`Apertium ${this.mode} has ${this.pending.length} sentences waiting; try again shortly.`));
    }
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.ensure();
    } catch (error) {
      return Promise.reject(unavailable(`Apertium ${this.mode} cannot start: ${(error as Error).message}`, error));
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(child, `Apertium ${this.mode} did not answer within ${this.timeoutMs} ms.`), this.timeoutMs);
      timer.unref();
      this.pending.push({ resolve, reject, timer, started: Date.now() });
      // A blank after the sentence: without it the last token (the full stop) is held back.
      child.stdin.write(`${input} \0`);
    });
  }

  /** Starts the chain now (and loads its transducers) so the first sentence is quick. */
  async warm(): Promise<void> {
    await this.translate("Hello.");
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    clearTimeout(this.restartTimer);
    const pipeline = nullFlushPipeline(readFileSync(this.modeFile, "utf8"));
    // Its own process group: closing or failing the chain kills every stage at once.
    const child = spawn("bash", ["-c", pipeline], {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, LC_ALL: "C.UTF-8" },
    });
    this.child = child;
    this.starts++;
    this.buffer = Buffer.alloc(0);
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => this.onData(child, chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2000);
    });
    child.stdin.on("error", () => undefined); // EPIPE when the chain died: 'exit' reports it
    child.on("error", (error) => this.fail(child, `Apertium ${this.mode} failed to start: ${error.message}`));
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.fail(child, `Apertium ${this.mode} exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}.`);
    });
    this.logger.info("apertium started", { mode: this.mode, pid: child.pid, starts: this.starts });
    return child;
  }

  private onData(child: ChildProcessWithoutNullStreams, chunk: Buffer): void {
    if (this.child !== child) return;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let nul: number;
    while ((nul = this.buffer.indexOf(0)) >= 0) {
      const item = this.buffer.subarray(0, nul).toString("utf8");
      this.buffer = this.buffer.subarray(nul + 1);
      const waiter = this.pending.shift();
      if (!waiter) continue; // a flush with nothing asked (the chain's own at end of input)
      clearTimeout(waiter.timer);
      this.failures = 0;
      waiter.resolve(unescapeApertium(item));
    }
  }

  /** Kills the chain, fails what it holds, schedules a restart. */
  private fail(child: ChildProcessWithoutNullStreams, message: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    killGroup(child);
    const waiting = this.pending;
    this.pending = [];
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(unavailable(message));
    }
    if (this.closed) return;
    this.failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures - 1, 6));
    this.logger.warn("apertium chain failed; restarting", { mode: this.mode, message, failed: waiting.length, restartInMs: delay });
    this.restartTimer = setTimeout(() => {
      if (this.closed || this.child) return;
      this.warm().catch((error: unknown) => this.logger.warn("apertium restart failed", { mode: this.mode, error }));
    }, delay);
    this.restartTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child) this.fail(child, `Apertium ${this.mode} is shut down.`);
  }
}

export function killGroup(child: { pid?: number; kill(signal?: NodeJS.Signals): boolean }): void {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function unavailable(message: string, cause?: unknown): EarshotError {
  return new EarshotError("ENGINE_UNAVAILABLE", message, cause === undefined ? undefined : { cause });
}

/** English to each installed target language, one chain per pair, started on first use (or by warm()). */
export class ApertiumTranslator {
  private readonly pairs = new Map<LanguageCode, ApertiumPair>();

  constructor(languages: readonly LanguageCode[], logger: Logger, options: { modesDir?: string; modeFiles?: Partial<Record<LanguageCode, string>> } = {}) {
    for (const language of languages) {
      const mode = APERTIUM_MODES[language];
      const modeFile = options.modeFiles?.[language] ?? (mode ? join(options.modesDir ?? APERTIUM_MODES_DIR, `${mode}.mode`) : undefined);
      if (!mode || !modeFile) continue;
      this.pairs.set(language, new ApertiumPair({ mode, modeFile, logger }));
    }
  }

  get languages(): LanguageCode[] {
    return [...this.pairs.keys()];
  }

  pair(target: LanguageCode): ApertiumPair | undefined {
    return this.pairs.get(target);
  }

  translate(text: string, source: LanguageCode, target: LanguageCode): Promise<string> {
    const pair = source === "en" ? this.pairs.get(target) : undefined;
    if (!pair) return Promise.reject(new EarshotError("UNSUPPORTED_LANGUAGE", `Apertium here does not translate ${source} to ${target}.`));
    return pair.translate(text);
  }

  /** Starts every chain (in parallel); failures are logged by the pair and retried. */
  async warm(): Promise<void> {
    await Promise.allSettled([...this.pairs.values()].map((p) => p.warm()));
  }

  close(): void {
    for (const pair of this.pairs.values()) pair.close();
  }
}
