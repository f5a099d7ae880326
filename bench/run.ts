/**
 * `npm run bench [-- --only control] [-- --quick]`
 *
 * Runs the benchmarks of bench/registry.ts against a production build of the
 * embedded runtime, started as its own process exactly as `npm start` starts
 * it, and writes bench/results.json and docs/BENCHMARKS.md (with the
 * hand-written analysis in bench/notes/<name>.md, when there is one).
 *
 * `--no-write` runs without touching the results (for profiling runs);
 * `--render` only regenerates docs/BENCHMARKS.md from bench/results.json.
 *
 * Environment: BENCH_SERVER_NODE_ARGS adds node flags to the server (e.g.
 * "--cpu-prof --cpu-prof-dir=bench/.results"); BENCH_CONCURRENCY sets joins
 * in flight for the control benchmark; BENCH_SIZES (e.g. "5000") its sizes;
 * BENCH_SERVER_LOG_LEVEL the server's log level (default warn). Other
 * EARSHOT_* variables in the environment reach the server unchanged.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { signInSpeaker, type SpeakerAuth } from "./auth";
import { freePort } from "./measure";
import { BENCHMARKS } from "./registry";
import type { BenchContext, TargetCheck } from "./types";
import { embeddedServerEnv } from "../tests/e2e/support/server";

const ROOT = resolve(__dirname, "..");
const RESULTS_JSON = resolve(ROOT, "bench/results.json");
const BENCHMARKS_MD = resolve(ROOT, "docs/BENCHMARKS.md");
const SCRATCH = resolve(ROOT, "bench/.results");
/** Open files the benchmark needs: 5,000+ sockets here, as many in the server. */
const NEEDED_FDS = 12_000;

const DEMO_EMAIL = "speaker@earshot.local";

interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  openFiles: string;
  ephemeralPorts: string;
  /** 1-minute load average when the run started (other work on the machine skews figures). */
  loadAverage: number;
}

interface StoredResult {
  title: string;
  ranAt: string;
  commit: string;
  quick: boolean;
  machine: Machine;
  targets: TargetCheck[];
  data: unknown;
  markdown: string;
}

interface ResultsFile {
  benchmarks: Record<string, StoredResult>;
}

const log = (message: string) => console.log(message);

// ---------------------------------------------------------------------------
// Arguments and environment

function parseArgs(argv: string[]): { only?: Set<string>; quick: boolean; write: boolean; render: boolean } {
  let only: Set<string> | undefined;
  let quick = false;
  let write = true;
  let render = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") quick = true;
    else if (arg === "--no-write") write = false;
    else if (arg === "--render") render = true;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      if (!value) throw new Error("--only needs a benchmark name");
      only ??= new Set();
      for (const name of value.split(",")) only.add(name.trim());
    } else if (arg === "--help" || arg === "-h") {
      log(`npm run bench [-- --only ${BENCHMARKS.map((b) => b.name).join("|")}] [--quick] [--no-write] [--render]`);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}`);
  }
  if (only) {
    const unknown = [...only].filter((n) => !BENCHMARKS.some((b) => b.name === n));
    if (unknown.length) throw new Error(`no benchmark named ${unknown.join(", ")} (have: ${BENCHMARKS.map((b) => b.name).join(", ")})`);
  }
  return { only, quick, write, render };
}

function openFileLimits(): { soft: number; hard: number } {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files")) ?? "";
  const [soft, hard] = line.replace("Max open files", "").trim().split(/\s+/);
  const n = (v: string | undefined) => (v === "unlimited" ? Infinity : Number(v));
  return { soft: n(soft), hard: n(hard) };
}

/** Node cannot raise its own RLIMIT_NOFILE: re-run once under `ulimit -n` when the soft limit is too low. */
function ensureOpenFiles(): void {
  const { soft, hard } = openFileLimits();
  if (soft >= NEEDED_FDS) return;
  if (process.env.EARSHOT_BENCH_REEXEC || hard < NEEDED_FDS) {
    log(`warning: open files limit is ${soft} (hard ${hard}); 5,000 listeners need about ${NEEDED_FDS}. Raise it with ulimit -n.`);
    return;
  }
  const target = Number.isFinite(hard) ? hard : 65536;
  log(`raising the open files limit from ${soft} to ${target}`);
  const cmd = `ulimit -n ${target} && exec "$0" "$@"`;
  const result = spawnSync("sh", ["-c", cmd, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, EARSHOT_BENCH_REEXEC: "1" },
  });
  process.exit(result.status ?? 1);
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

function machine(): Machine {
  const cpus = os.cpus();
  const release = existsSync("/etc/os-release") ? /PRETTY_NAME="?([^"\n]+)"?/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] : undefined;
  const { soft } = openFileLimits();
  const ports = existsSync("/proc/sys/net/ipv4/ip_local_port_range") ? readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).join("-") : "?";
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${release ?? os.type()} (${os.type()} ${os.release()}, ${os.arch()})`,
    openFiles: String(soft),
    ephemeralPorts: ports,
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

function commit(): string {
  const sha = sh("git", ["rev-parse", "--short", "HEAD"]) || "unknown";
  const dirty = sh("git", ["status", "--porcelain", "--untracked-files=no"]) !== "";
  return dirty ? `${sha} + uncommitted changes` : sha;
}

// ---------------------------------------------------------------------------
// Build and server

function buildRunning(): boolean {
  return sh("pgrep", ["-f", "next build"]) !== "";
}

async function ensureBuild(): Promise<void> {
  if (existsSync(resolve(ROOT, ".next/BUILD_ID"))) return;
  if (buildRunning()) {
    log("a `next build` is running already: waiting for it...");
    while (buildRunning()) await sleep(2000);
    if (existsSync(resolve(ROOT, ".next/BUILD_ID"))) return;
  }
  log("no production build (.next/BUILD_ID): running `npx next build`...");
  const result = spawnSync("npx", ["next", "build"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, NODE_ENV: "production" } });
  if (result.status !== 0 || !existsSync(resolve(ROOT, ".next/BUILD_ID"))) throw new Error("next build failed");
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  port: number;
  logFile: string;
  exited: Promise<number | null>;
}

/** Starts the server as `npm start` does, with benchmark limits raised through configuration only. */
async function startServer(): Promise<Server> {
  const port = await freePort();
  mkdirSync(SCRATCH, { recursive: true });
  const logFile = resolve(SCRATCH, "server.log");
  const out = createWriteStream(logFile);
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...extra, "--import", "tsx", "lib/server/embedded/main.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: embeddedServerEnv({ port, data: "memory", limit: 1_000_000, extra: { EARSHOT_LOG_LEVEL: process.env.BENCH_SERVER_LOG_LEVEL ?? "warn" } }),
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  const server = { child, port, logFile, exited };
  const deadline = Date.now() + 120_000;
  let last = "no answer";
  for (;;) {
    if (gone) throw new Error(`the server exited during start-up; see ${logFile}:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
    if (Date.now() > deadline) {
      await stopServer(server);
      throw new Error(`the server did not answer /api/health within 120 s (last: ${last}); see ${logFile}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) break;
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
    } catch (error) {
      last = error instanceof Error ? `${error.name}: ${error.message}` : String(error); // not listening yet
    }
    await sleep(250);
  }
  return server;
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 20_000);
  await server.exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------
// Report

function loadResults(): ResultsFile {
  if (!existsSync(RESULTS_JSON)) return { benchmarks: {} };
  return JSON.parse(readFileSync(RESULTS_JSON, "utf8")) as ResultsFile;
}

function renderMarkdown(results: ResultsFile): string {
  const entries = BENCHMARKS.filter((b) => results.benchmarks[b.name]).map((b) => [b, results.benchmarks[b.name]!] as const);
  const out: string[] = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` from [`bench/results.json`](../bench/results.json); do not edit by hand.",
    "Each benchmark runs against a production build of the embedded runtime (`next build`, then the server",
    "started as `npm start` starts it, `EARSHOT_DATA=memory`, `EARSHOT_LOG_LEVEL=warn`), in its own process;",
    "the load comes from a separate benchmark process on the same machine. Rate limits are raised through the",
    "`EARSHOT_LIMIT_*` variables only.",
    "",
    "Run them: `npm run bench` (all), `npm run bench -- --only control`, `npm run bench -- --quick` (smoke run).",
    "",
    "## Summary",
    "",
    "| benchmark | target | measured | met |",
    "|---|---|---|---|",
  ];
  for (const [b, r] of entries) {
    for (const t of r.targets) out.push(`| ${b.name} | ${t.metric}: ${t.target} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`);
  }
  for (const [b, r] of entries) {
    const m = r.machine;
    out.push(
      "",
      `## ${b.title}`,
      "",
      `\`npm run bench -- --only ${b.name}${r.quick ? " --quick" : ""}\` — ${r.ranAt}, commit ${r.commit}${r.quick ? " (**quick run**: smaller sizes)" : ""}.`,
      "",
      `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM; Node ${m.node}; ${m.os}; open files ${m.openFiles}; ephemeral ports ${m.ephemeralPorts}; load average ${m.loadAverage ?? "?"} at start.`,
      "",
      "| target | measured | met |",
      "|---|---|---|",
      ...r.targets.map((t) => `| ${t.metric}: ${t.target} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`),
      "",
      r.markdown.trim(),
    );
    // Hand-written analysis that survives regeneration: bench/notes/<name>.md.
    const notes = resolve(ROOT, `bench/notes/${b.name}.md`);
    if (existsSync(notes)) out.push("", readFileSync(notes, "utf8").trim());
  }
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const { only, quick, write, render } = parseArgs(process.argv.slice(2));
  if (render) {
    writeFileSync(BENCHMARKS_MD, renderMarkdown(loadResults()));
    log(`wrote ${BENCHMARKS_MD} from ${RESULTS_JSON}`);
    return;
  }
  ensureOpenFiles();
  const selected = BENCHMARKS.filter((b) => !only || only.has(b.name));
  await ensureBuild();

  log("starting the server (production build)...");
  const server = await startServer();
  log(`server pid ${server.child.pid} on http://127.0.0.1:${server.port} (log: ${server.logFile})`);
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const results = loadResults();
  const info = machine();
  const rev = commit();
  let failed = false;
  try {
    const password = process.env.EARSHOT_DEMO_PASSWORD || "earshot-demo";
    let auth: SpeakerAuth | undefined;
    const ctx: BenchContext = {
      baseUrl,
      wsBase: `ws://127.0.0.1:${server.port}`,
      serverPid: server.child.pid!,
      quick,
      async speakerToken() {
        auth ??= await signInSpeaker(baseUrl, DEMO_EMAIL, password);
        return auth.token();
      },
      log,
    };
    for (const bench of selected) {
      log(`\n== ${bench.name}: ${bench.title}${quick ? " (quick)" : ""}`);
      try {
        const result = await bench.run(ctx);
        results.benchmarks[bench.name] = {
          title: bench.title,
          ranAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          commit: rev,
          quick,
          machine: info,
          ...result,
        };
        for (const t of result.targets) log(`  ${t.met ? "met   " : "MISSED"} ${t.metric}: ${t.target}; measured ${t.measured}`);
      } catch (error) {
        failed = true;
        console.error(`  ${bench.name} failed:`, error instanceof Error ? error.message : error);
      }
    }
  } finally {
    await stopServer(server);
  }
  if (write) {
    writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(BENCHMARKS_MD, renderMarkdown(results));
    log(`\nwrote ${RESULTS_JSON} and ${BENCHMARKS_MD}`);
  } else log("\n--no-write: results not saved");
  if (failed) process.exit(1);
}

main().catch((error: unknown) => {
  console.error("bench:", error instanceof Error ? error.message : error);
  process.exit(1);
});
