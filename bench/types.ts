/**
 * The benchmark contract. A benchmark is a module exporting `{ name, title, run(ctx) }`;
 * `bench/registry.ts` lists them and `bench/run.ts` runs them against a
 * production build of the embedded runtime started as a separate process.
 */

export interface BenchContext {
  /** http://127.0.0.1:PORT of the server under test. */
  baseUrl: string;
  /** ws://127.0.0.1:PORT */
  wsBase: string;
  /** The server process (for /proc/<pid>/status). */
  serverPid: number;
  /** Smaller sizes, for a smoke run. */
  quick: boolean;
  /** A fresh speaker token, obtained the way a browser does (next-auth sign-in, then GET /api/speaker/token). */
  speakerToken(): Promise<string>;
  log(message: string): void;
}

export interface TargetCheck {
  /** What is measured, e.g. "joins/s at 5,000 listeners". */
  metric: string;
  /** The target, e.g. ">= 1,000". */
  target: string;
  /** The figure measured, formatted. */
  measured: string;
  met: boolean;
}

export interface BenchResult {
  targets: TargetCheck[];
  /** Structured figures (kept in bench/results.json). */
  data: unknown;
  /** The section body for docs/BENCHMARKS.md (without the heading or the targets table). */
  markdown: string;
}

export interface Benchmark {
  /** Short id used by `--only` and as the key in bench/results.json. */
  name: string;
  /** Heading in docs/BENCHMARKS.md. */
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}
