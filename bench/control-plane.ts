import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import type { ServerMessage } from "../lib/core/protocol";
import type { BenchContext, BenchResult, Benchmark, TargetCheck } from "./types";
import { RssSampler, cpuSeconds, fmt, httpListenerCount, mb, percentiles, rssKb, type Percentiles } from "./measure";
import { BENCH_LANGUAGES, BENCH_TARGETS, requireOffered } from "./support/languages";

/**
 * Control-plane benchmark: one speaker creates a session over the real
 * WebSocket; N listeners connect to /ws?sessionId=…&targetLanguage=… and send
 * joinSession, over real sockets, with bounded concurrency. Measures join
 * throughput and latency, the server's RSS, and that the counts are exact
 * (while connected and after everyone left).
 */

/** BENCH_SIZES=5000 (comma-separated) overrides the sizes, for diagnosis. */
const SIZES_OVERRIDE = process.env.BENCH_SIZES?.split(",").map(Number).filter((n) => n > 0);
const FULL_SIZES = [1000, 2000, 5000];
const QUICK_SIZES = [100, 300];
/** Joins in flight at once: enough to load the server, not a SYN flood. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
/** Sequential joins made once N listeners are connected: latency without queueing behind other joins. */
const PROBES_FULL = 200;
/** A round run first and not reported, so the first size does not measure JIT warm-up. */
const WARMUP = 500;
const PROBES_QUICK = 30;
const JOIN_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 120_000;
/** The count is final once it has not changed for this long. */
const DRAIN_STABLE_MS = 2000;

const TARGET_JOINS_PER_SEC = 1000;
const TARGET_P99_MS = 50;
const TARGET_RSS_MB = 400;

// ---------------------------------------------------------------------------
// Clients

type Msg = ServerMessage;

/** The speaker's control connection: request/reply by requestId, pushes ignored. */
class Speaker {
  private counter = 0;
  private readonly waiting = new Map<string, (m: Msg) => void>();
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as Msg;
      const rid = "requestId" in msg ? msg.requestId : undefined;
      const resolve = rid ? this.waiting.get(rid) : undefined;
      if (rid && resolve) {
        this.waiting.delete(rid);
        resolve(msg);
      }
    });
    ws.on("error", () => undefined);
  }

  static connect(url: string): Promise<Speaker> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once("open", () => resolve(new Speaker(ws)));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`speaker connect refused: HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  request(message: Record<string, unknown>, timeoutMs = 30_000): Promise<Msg> {
    const requestId = `s${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.waiting.delete(requestId), reject(new Error(`${String(message.action)}: no reply in ${timeoutMs} ms`))), timeoutMs);
      this.waiting.set(requestId, (m) => (clearTimeout(timer), resolve(m)));
      this.ws.send(JSON.stringify({ ...message, requestId }));
    });
  }

  async status(): Promise<{ listenerCount: number; languageDistribution: Record<string, number> }> {
    const reply = await this.request({ action: "getSessionStatus" });
    if (reply.type !== "sessionStatus") throw new Error(`getSessionStatus: ${JSON.stringify(reply)}`);
    return { listenerCount: reply.listenerCount, languageDistribution: reply.languageDistribution as Record<string, number> };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}

type JoinOutcome =
  | { ok: true; ws: WebSocket; language: string; latencyMs: number; joinedAt: number }
  | { ok: false; reason: string };

/** Opens a listener connection and joins; latency is from starting the connect to receiving sessionJoined. */
function joinListener(wsBase: string, sessionId: string, language: string): Promise<JoinOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const ws = new WebSocket(`${wsBase}/ws?sessionId=${encodeURIComponent(sessionId)}&targetLanguage=${language}`, { perMessageDeflate: false });
    let settled = false;
    const finish = (outcome: JoinOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners("message");
      if (!outcome.ok) ws.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: "timeout" }), JOIN_TIMEOUT_MS);
    ws.on("error", (error: NodeJS.ErrnoException) => finish({ ok: false, reason: error.code ?? error.message }));
    ws.once("unexpected-response", (_req, res) => finish({ ok: false, reason: `HTTP ${res.statusCode}` }));
    // A per-tab clientKey, as the listener page sends (a reconnect then replaces, never double-counts).
    const clientKey = randomBytes(18).toString("base64url");
    ws.once("open", () => ws.send(JSON.stringify({ action: "joinSession", sessionId, targetLanguage: language, clientKey, requestId: "j" })));
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as Msg;
      const now = performance.now();
      if (msg.type === "sessionJoined") finish({ ok: true, ws, language, latencyMs: now - started, joinedAt: now });
      else if (msg.type === "error") finish({ ok: false, reason: msg.code });
    });
  });
}

function closeAll(sockets: WebSocket[]): Promise<void> {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => (ws.terminate(), resolve()), 10_000);
          ws.once("close", () => (clearTimeout(timer), resolve()));
          ws.close();
        }),
    ),
  ).then(() => undefined);
}

const sameCounts = (a: Record<string, number>, b: Record<string, number>) => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => (a[k] ?? 0) !== 0 || (b[k] ?? 0) !== 0));
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
};

// ---------------------------------------------------------------------------
// One round

export interface Round {
  n: number;
  concurrency: number;
  joined: number;
  failures: Record<string, number>;
  wallMs: number;
  joinsPerSec: number;
  latencyMs: Percentiles;
  probe: { n: number } & Percentiles;
  rssMb: { before: number; peak: number; atN: number; afterClose: number };
  serverCpu: { seconds: number; utilisation: number };
  benchCpu: { seconds: number; utilisation: number };
  counts: {
    expected: { total: number; perLanguage: Record<string, number> };
    ws: { listenerCount: number; languageDistribution: Record<string, number> };
    http: number | string;
    exact: boolean;
  };
  drain: { ms: number; ws: number; http: number | string; zero: boolean };
}

async function round(ctx: BenchContext, n: number, probes: number): Promise<Round> {
  const token = await ctx.speakerToken();
  const speaker = await Speaker.connect(`${ctx.wsBase}/ws?token=${encodeURIComponent(token)}`);
  const created = await speaker.request({ action: "createSession", sourceLanguage: "en", targetLanguages: BENCH_TARGETS, title: `bench ${n}` });
  if (created.type !== "sessionCreated") throw new Error(`createSession: ${JSON.stringify(created)}`);
  requireOffered(created);
  const { sessionId } = created;

  const sampler = new RssSampler(ctx.serverPid);
  const rssBefore = rssKb(ctx.serverPid);
  sampler.start();
  const cpu0 = cpuSeconds(ctx.serverPid);
  const benchCpu0 = cpuSeconds("self");

  // Joins, `CONCURRENCY` in flight.
  const outcomes: JoinOutcome[] = new Array<JoinOutcome>(n);
  let next = 0;
  const first = performance.now();
  const worker = async () => {
    for (let i = next++; i < n; i = next++) outcomes[i] = await joinListener(ctx.wsBase, sessionId, BENCH_LANGUAGES[i % BENCH_LANGUAGES.length]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  const joinedOk = outcomes.filter((o): o is Extract<JoinOutcome, { ok: true }> => o.ok);
  const last = joinedOk.reduce((m, o) => Math.max(m, o.joinedAt), first);
  const wallMs = last - first;
  const cpu1 = cpuSeconds(ctx.serverPid);
  const benchCpu1 = cpuSeconds("self");
  const failures: Record<string, number> = {};
  for (const o of outcomes) if (!o.ok) failures[o.reason] = (failures[o.reason] ?? 0) + 1;

  // Counts while everyone is connected.
  const perLanguage: Record<string, number> = {};
  for (const o of joinedOk) perLanguage[o.language] = (perLanguage[o.language] ?? 0) + 1;
  const wsCounts = await speaker.status();
  const http = await httpListenerCount(ctx.baseUrl, sessionId);
  const exact =
    joinedOk.length === n &&
    wsCounts.listenerCount === n &&
    http === n &&
    sameCounts(wsCounts.languageDistribution, perLanguage);
  const rssAtN = sampler.sample();
  if (!exact) {
    ctx.log(`  counts at N=${n}: expected ${JSON.stringify(perLanguage)}, getSessionStatus ${JSON.stringify(wsCounts)}, HTTP ${http}`);
    for (const wait of [1000, 3000]) {
      await new Promise((r) => setTimeout(r, wait));
      ctx.log(`  ... ${wait} ms later: ${JSON.stringify(await speaker.status())}`);
    }
  }

  // Latency of a join with N listeners connected, one at a time (no queueing behind other joins).
  const probeOutcomes: JoinOutcome[] = [];
  for (let i = 0; i < probes; i++) probeOutcomes.push(await joinListener(ctx.wsBase, sessionId, BENCH_LANGUAGES[i % BENCH_LANGUAGES.length]!));
  const probeOk = probeOutcomes.filter((o): o is Extract<JoinOutcome, { ok: true }> => o.ok);

  // Everyone leaves; the count must come back to 0.
  const closing = performance.now();
  await closeAll([...joinedOk, ...probeOk].map((o) => o.ws));
  // The count may pass through 0 while departures are still being processed (or not reach it):
  // poll until it has not changed for DRAIN_STABLE_MS, and judge that value.
  let drained = await speaker.status();
  let changedAt = performance.now();
  let zeroAt = drained.listenerCount === 0 ? changedAt : undefined;
  let sameReads = 1;
  while ((sameReads < 3 || performance.now() - changedAt < DRAIN_STABLE_MS) && performance.now() - closing < DRAIN_TIMEOUT_MS) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await speaker.status();
    if (now.listenerCount !== drained.listenerCount) {
      changedAt = performance.now();
      zeroAt = now.listenerCount === 0 ? changedAt : undefined;
      sameReads = 1;
    } else sameReads++;
    drained = now;
  }
  const drainMs = (zeroAt ?? performance.now()) - closing;
  const httpAfter = await httpListenerCount(ctx.baseUrl, sessionId);
  if (drained.listenerCount !== 0 || httpAfter !== 0) ctx.log(`  after everyone left: getSessionStatus ${JSON.stringify(drained)}, HTTP ${httpAfter}`);
  const rssAfterClose = sampler.stop();

  await speaker.request({ action: "endSession" }).catch(() => undefined);
  await speaker.close();

  const serverCpuSeconds = cpu1 - cpu0;
  const benchCpuSeconds = benchCpu1 - benchCpu0;
  const result: Round = {
    n,
    concurrency: Math.min(CONCURRENCY, n),
    joined: joinedOk.length,
    failures,
    wallMs: Math.round(wallMs),
    joinsPerSec: Math.round(joinedOk.length / (wallMs / 1000)),
    latencyMs: percentiles(joinedOk.map((o) => o.latencyMs)),
    probe: percentiles(probeOk.map((o) => o.latencyMs)),
    rssMb: { before: mb(rssBefore), peak: mb(sampler.peakKb), atN: mb(rssAtN), afterClose: mb(rssAfterClose) },
    serverCpu: { seconds: Math.round(serverCpuSeconds * 100) / 100, utilisation: Math.round((serverCpuSeconds / (wallMs / 1000)) * 100) / 100 },
    benchCpu: { seconds: Math.round(benchCpuSeconds * 100) / 100, utilisation: Math.round((benchCpuSeconds / (wallMs / 1000)) * 100) / 100 },
    counts: { expected: { total: n, perLanguage }, ws: wsCounts, http, exact },
    drain: {
      ms: Math.round(drainMs),
      ws: drained.listenerCount,
      http: httpAfter,
      zero: drained.listenerCount === 0 && Object.keys(drained.languageDistribution).length === 0 && httpAfter === 0,
    },
  };
  ctx.log(
    `  N=${n}: ${result.joinsPerSec} joins/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
      `probe p99 ${result.probe.p99} ms, peak RSS ${result.rssMb.peak} MB, counts ${exact ? "exact" : "WRONG"}, ` +
      `drained ${result.drain.zero ? "to 0" : "NOT to 0"} in ${result.drain.ms} ms` +
      (Object.keys(failures).length ? `, failures ${JSON.stringify(failures)}` : ""),
  );
  return result;
}

// ---------------------------------------------------------------------------
// Report


function markdown(rounds: Round[]): string {
  const rows = rounds.map((r) =>
    [
      fmt(r.n),
      `${fmt(r.joined)}${Object.keys(r.failures).length ? ` (failed: ${Object.entries(r.failures).map(([k, v]) => `${k} ×${v}`).join(", ")})` : ""}`,
      fmt(r.joinsPerSec),
      `${r.latencyMs.p50} / ${r.latencyMs.p95} / ${r.latencyMs.p99} / ${r.latencyMs.max}`,
      `${r.probe.p50} / ${r.probe.p99} / ${r.probe.max}`,
      `${r.rssMb.before} → ${r.rssMb.peak} (${r.rssMb.afterClose} after)`,
      `${r.serverCpu.utilisation} / ${r.benchCpu.utilisation}`,
      r.counts.exact ? "yes" : `**no**: ws ${r.counts.ws.listenerCount}, http ${r.counts.http}`,
      r.drain.zero ? `yes (${fmt(r.drain.ms)} ms)` : `**no**: ws ${r.drain.ws}, http ${r.drain.http}`,
    ].join(" | "),
  );
  const dist = rounds
    .map((r) => `N=${fmt(r.n)}: ${BENCH_LANGUAGES.map((l) => `${l} ${r.counts.ws.languageDistribution[l] ?? 0}/${r.counts.expected.perLanguage[l] ?? 0}`).join(", ")}`)
    .join("; ");
  return [
    `One speaker creates a session over the WebSocket (token from a real next-auth sign-in); N listeners open`,
    `\`/ws?sessionId=…&targetLanguage=…\` and send \`joinSession\` (with a per-listener \`clientKey\`, as the listener page does) over real sockets, spread over ${BENCH_LANGUAGES.join(", ")},`,
    `${rounds[0]?.concurrency ?? CONCURRENCY} joins in flight at a time. Throughput is joined listeners over the wall time from the first`,
    `connect to the last \`sessionJoined\`; latency is per listener, from starting the connect to receiving \`sessionJoined\`.`,
    `Then ${rounds[0]?.probe.n ?? 0} more listeners join **one at a time** with N connected ("probe": join latency without queueing`,
    `behind other joins). Counts are checked with \`getSessionStatus\` (total and per language) and \`GET /api/sessions/{id}\`;`,
    `then every listener closes and the count must return to 0. Server RSS is \`VmRSS\` of the server process, sampled every`,
    `100 ms. CPU is the server's (and the benchmark client's) CPU seconds per wall second during the joins (2 cores = 2.0).`,
    `Rounds run one after another against the same server process, after an unreported warm-up round of ${WARMUP} listeners.`,
    "",
    "| N | joined | joins/s | latency p50 / p95 / p99 / max (ms) | probe p50 / p99 / max (ms) | server RSS MB before → peak | CPU server / client | counts exact | back to 0 |",
    "|---:|---:|---:|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r} |`),
    "",
    `Per-language counts (reported/expected): ${dist}.`,
    "",
    `With a fixed number of joins in flight, mean latency ≈ in-flight / throughput (Little's law): at`,
    `${rounds[0]?.concurrency ?? CONCURRENCY} in flight, a p99 of ${TARGET_P99_MS} ms needs well over ${fmt(Math.round(((rounds[0]?.concurrency ?? CONCURRENCY) / TARGET_P99_MS) * 1000))} joins/s, so the loaded`,
    `percentiles mostly measure queueing; the probe column is the latency one listener sees.`,
  ].join("\n");
}

export const controlPlane: Benchmark = {
  name: "control",
  title: "Control plane: listener joins",
  async run(ctx: BenchContext): Promise<BenchResult> {
    const sizes = SIZES_OVERRIDE?.length ? SIZES_OVERRIDE : ctx.quick ? QUICK_SIZES : FULL_SIZES;
    const probes = ctx.quick ? PROBES_QUICK : PROBES_FULL;
    if (!ctx.quick) {
      // JIT and first-request warm-up (Next routes, SDK, dynalite), not reported.
      ctx.log(`control: warm-up, ${WARMUP} listeners (not reported)...`);
      await round(ctx, WARMUP, 20);
    }
    const rounds: Round[] = [];
    for (const n of sizes) {
      ctx.log(`control: ${fmt(n)} listeners, ${Math.min(CONCURRENCY, n)} in flight...`);
      rounds.push(await round(ctx, n, probes));
    }
    const largest = rounds[rounds.length - 1]!;
    const slowest = rounds.reduce((a, b) => (b.joinsPerSec < a.joinsPerSec ? b : a));
    const peakRss = Math.max(...rounds.map((r) => r.rssMb.peak));
    const allExact = rounds.every((r) => r.counts.exact && r.drain.zero);
    const targets: TargetCheck[] = [
      {
        metric: `join throughput (lowest over N = ${sizes.map(fmt).join(", ")})`,
        target: `≥ ${fmt(TARGET_JOINS_PER_SEC)} joins/s`,
        measured: `${fmt(slowest.joinsPerSec)} joins/s (N=${fmt(slowest.n)})`,
        met: slowest.joinsPerSec >= TARGET_JOINS_PER_SEC,
      },
      {
        metric: `join latency p99 at ${fmt(largest.n)} listeners (${largest.concurrency} in flight)`,
        target: `≤ ${TARGET_P99_MS} ms`,
        measured: `${largest.latencyMs.p99} ms (probe, one at a time: ${largest.probe.p99} ms)`,
        met: largest.latencyMs.p99 <= TARGET_P99_MS,
      },
      {
        metric: "server RSS, peak over all rounds",
        target: `≤ ${TARGET_RSS_MB} MB`,
        measured: `${peakRss} MB`,
        met: peakRss <= TARGET_RSS_MB,
      },
      {
        metric: "counts exact (total, per language, HTTP) and back to 0 after close",
        target: "exact at every N",
        measured: allExact ? "exact at every N" : rounds.filter((r) => !(r.counts.exact && r.drain.zero)).map((r) => `wrong at N=${fmt(r.n)}`).join(", "),
        met: allExact,
      },
    ];
    return { targets, data: { languages: BENCH_LANGUAGES, concurrency: CONCURRENCY, rounds }, markdown: markdown(rounds) };
  },
};
