import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import type { ServerMessage } from "../lib/core/protocol";
import type { BenchContext, BenchResult, Benchmark, TargetCheck } from "./types";
import { cpuSeconds, fmt, httpListenerCount, mb, percentiles, rssKb, type Percentiles } from "./measure";
import { BENCH_LANGUAGES, BENCH_TARGETS, requireOffered, type BenchLanguage } from "./support/languages";

/**
 * Churn (soak) benchmark: one speaker's session keeps a population of
 * listener control connections (5,000; 500 with --quick) while, at a steady
 * rate, listeners change language, leave (`leaveSession`, or the socket is
 * dropped abruptly), new listeners join to keep the population, some of them
 * reconnecting with the clientKey of a dropped listener, and some take over a
 * live listener's clientKey from a new socket (the server must close the old
 * one with 4000 and count the client once). Idle listeners heartbeat every
 * 60 s, as the listener page does.
 *
 * The expected counts are kept locally from the replies received (an answered
 * join counts, an answered language change moves, an answered leave, a socket
 * closed for whatever reason, and a replaced connection un-count). At the end
 * the churn stops, the counts settle, and getSessionStatus (total and per
 * language) and GET /api/sessions/{id} must equal them; then everyone closes
 * and the count must return to 0. Server RSS is sampled every second and must
 * stay within ±20 % of its level at the end of the warm-up.
 *
 * Diagnosis knobs (environment): BENCH_CHURN_POPULATION, BENCH_CHURN_SECONDS,
 * BENCH_CHURN_WARMUP_SECONDS, BENCH_CHURN_RATE (multiplies every rate),
 * BENCH_CHURN_OPS (comma list of leave,drop,change,takeover,rejoin,heartbeat
 * to enable; default all), BENCH_CHURN_CHECKPOINT_SECONDS (pause every N s,
 * let the counts settle and compare them: localises when a drift starts).
 */

type Lang = BenchLanguage;

interface Profile {
  population: number;
  churnSeconds: number;
  warmupSeconds: number;
  /** Departures per second: half leaveSession (then close), half abrupt socket drops. */
  leavesPerSec: number;
  changesPerSec: number;
  /** New sockets that join with the clientKey of a live listener (a reconnect the server has not noticed yet). */
  takeoversPerSec: number;
  /** Share of the joins that reuse the clientKey of a dropped listener (when one is available). */
  rejoinShare: number;
  heartbeatSeconds: number;
}

const FULL: Profile = { population: 5000, churnSeconds: 240, warmupSeconds: 60, leavesPerSec: 50, changesPerSec: 100, takeoversPerSec: 5, rejoinShare: 0.5, heartbeatSeconds: 60 };
const QUICK: Profile = { population: 500, churnSeconds: 30, warmupSeconds: 10, leavesPerSec: 10, changesPerSec: 20, takeoversPerSec: 2, rejoinShare: 0.5, heartbeatSeconds: 60 };

const OP_KINDS = ["leave", "drop", "change", "takeover", "rejoin", "heartbeat"] as const;
type OpKind = (typeof OP_KINDS)[number];

/** Operations in flight at once (joins during the ramp, everything during the churn). */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const TICK_MS = 100;
const REQUEST_TIMEOUT_MS = 30_000;
const QUIESCE_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 120_000;
/** The count is final once it has not changed for this long (and 3 reads). */
const SETTLE_STABLE_MS = 2000;
/** When the counts are wrong, how long to keep watching whether the sweeper corrects them (it needs 30 s quiet + 2 s). */
const WATCH_AFTER_WRONG_MS = 75_000;
const RSS_TOLERANCE = 0.2;

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function profile(quick: boolean): Profile & { ops: Set<OpKind>; checkpointSeconds: number } {
  const base = quick ? QUICK : FULL;
  const rate = envNumber("BENCH_CHURN_RATE") ?? 1;
  const ops = new Set<OpKind>(
    process.env.BENCH_CHURN_OPS ? (process.env.BENCH_CHURN_OPS.split(",").map((s) => s.trim()).filter((s): s is OpKind => (OP_KINDS as readonly string[]).includes(s))) : OP_KINDS,
  );
  return {
    ...base,
    population: envNumber("BENCH_CHURN_POPULATION") ?? base.population,
    churnSeconds: envNumber("BENCH_CHURN_SECONDS") ?? base.churnSeconds,
    warmupSeconds: envNumber("BENCH_CHURN_WARMUP_SECONDS") ?? base.warmupSeconds,
    leavesPerSec: base.leavesPerSec * rate,
    changesPerSec: base.changesPerSec * rate,
    takeoversPerSec: base.takeoversPerSec * rate,
    ops,
    checkpointSeconds: envNumber("BENCH_CHURN_CHECKPOINT_SECONDS") ?? 0,
  };
}

// ---------------------------------------------------------------------------
// Measurement helpers (the shared ones are in ./measure)

const r2 = (x: number) => Math.round(x * 100) / 100;
const r1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newKey = () => randomBytes(18).toString("base64url");

type Counts = Record<string, number>;

function positive(counts: Counts): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(counts)) if (v !== 0) out[k] = v;
  return out;
}

function sameCounts(a: Counts, b: Counts): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

function diffCounts(actual: Counts, expected: Counts): Counts {
  const out: Counts = {};
  for (const k of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
    const d = (actual[k] ?? 0) - (expected[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Speaker

interface Status {
  listenerCount: number;
  languageDistribution: Counts;
}

class Speaker {
  private counter = 0;
  private readonly waiting = new Map<string, (m: ServerMessage) => void>();
  /** Pushed (unrequested) sessionStatus messages. */
  pushes = 0;
  lastPush?: Status & { at: number };
  readonly pushAgeMs: number[] = [];
  onPush?: (s: Status) => void;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as ServerMessage;
      const rid = "requestId" in msg ? msg.requestId : undefined;
      const resolve = rid ? this.waiting.get(rid) : undefined;
      if (rid && resolve) {
        this.waiting.delete(rid);
        resolve(msg);
      } else if (msg.type === "sessionStatus") {
        this.pushes++;
        const at = Date.now();
        this.pushAgeMs.push(at - msg.timestamp);
        this.lastPush = { listenerCount: msg.listenerCount, languageDistribution: positive(msg.languageDistribution as Counts), at: performance.now() };
        this.onPush?.(this.lastPush);
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

  request(message: Record<string, unknown>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ServerMessage> {
    const requestId = `s${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.waiting.delete(requestId), reject(new Error(`${String(message.action)}: no reply in ${timeoutMs} ms`))), timeoutMs);
      this.waiting.set(requestId, (m) => (clearTimeout(timer), resolve(m)));
      this.ws.send(JSON.stringify({ ...message, requestId }));
    });
  }

  async status(): Promise<Status> {
    const reply = await this.request({ action: "getSessionStatus" });
    if (reply.type !== "sessionStatus") throw new Error(`getSessionStatus: ${JSON.stringify(reply)}`);
    return { listenerCount: reply.listenerCount, languageDistribution: positive(reply.languageDistribution as Counts) };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}

// ---------------------------------------------------------------------------
// Listeners and the churn

type State = "joining" | "idle" | "busy" | "closed";
type JoinKind = "join" | "rejoin" | "takeover";
type Reply = { msg: ServerMessage } | { failure: string };

interface Pending {
  requestId: string;
  timer: NodeJS.Timeout;
  done(reply: Reply): void;
}

class Listener {
  ws!: WebSocket;
  state: State = "joining";
  /** The language this connection is counted in, from the replies received. */
  counted?: Lang;
  /** Part of the population (not leaving, not replaced, not failed). */
  member = false;
  poolIndex = -1;
  closedByUs = false;
  /** A newer connection took its clientKey over. */
  replaced = false;
  nextHeartbeatAt = Infinity;
  pending?: Pending;
  requests = 0;
  constructor(
    readonly id: number,
    readonly clientKey: string,
  ) {}
}

interface Checkpoint {
  atS: number;
  expected: number;
  ws: number;
  exact: boolean;
  diff: Counts;
}

interface TimelinePoint {
  /** Seconds since the churn started (negative during the ramp). */
  t: number;
  phase: "ramp" | "churn" | "settle" | "close";
  rssMb: number;
  members: number;
  expected: number;
  pushed: number | null;
  inFlight: number;
}

class Churn {
  private seq = 0;
  private readonly expected: Record<string, number> = {};
  private readonly idle: Listener[] = [];
  readonly live = new Set<Listener>();
  private readonly dropped: string[] = [];
  memberCount = 0;
  inFlight = 0;
  private leaveToggle = false;
  private readonly acc = { leave: 0, change: 0, takeover: 0 };
  private lastTick = 0;

  // Statistics
  readonly done: Record<string, number> = {};
  readonly latency: Record<string, number[]> = {};
  readonly errors: Record<string, number> = {};
  readonly connectFailures: Record<string, number> = {};
  readonly unexpectedCloses: Record<string, number> = {};
  readonly unsolicited: Record<string, number> = {};
  replacedClosed4000 = 0;
  previousLanguageMismatch = 0;
  timeouts = 0;
  /** Counts of completed operations, reset by the timeline sampler every second. */
  readonly window: Record<string, number> = {};

  constructor(
    private readonly ctx: BenchContext,
    private readonly sessionId: string,
    private readonly p: ReturnType<typeof profile>,
    private readonly rand: () => number,
  ) {}

  // ----- books

  expectedCounts(): Counts {
    return positive(this.expected);
  }

  expectedTotal(): number {
    return Object.values(this.expected).reduce((s, v) => s + v, 0);
  }

  private count(l: Listener, lang: Lang): void {
    if (l.counted === lang) return;
    if (l.counted) this.expected[l.counted] = (this.expected[l.counted] ?? 0) - 1;
    this.expected[lang] = (this.expected[lang] ?? 0) + 1;
    l.counted = lang;
  }

  private uncount(l: Listener): void {
    if (!l.counted) return;
    this.expected[l.counted] = (this.expected[l.counted] ?? 0) - 1;
    l.counted = undefined;
  }

  private setMember(l: Listener, member: boolean): void {
    if (l.member === member) return;
    l.member = member;
    this.memberCount += member ? 1 : -1;
  }

  private toPool(l: Listener): void {
    if (l.state === "closed" || l.poolIndex >= 0) return;
    l.state = "idle";
    l.poolIndex = this.idle.length;
    this.idle.push(l);
  }

  private fromPool(l: Listener): void {
    const i = l.poolIndex;
    if (i < 0) return;
    const last = this.idle.pop()!;
    if (last !== l) {
      this.idle[i] = last;
      last.poolIndex = i;
    }
    l.poolIndex = -1;
  }

  private pickIdle(): Listener | undefined {
    if (this.idle.length === 0) return undefined;
    const l = this.idle[Math.floor(this.rand() * this.idle.length)]!;
    this.fromPool(l);
    l.state = "busy";
    return l;
  }

  private randomLang(except?: Lang): Lang {
    for (;;) {
      const lang = BENCH_LANGUAGES[Math.floor(this.rand() * BENCH_LANGUAGES.length)]!;
      if (lang !== except) return lang;
    }
  }

  private record(kind: string, startedAt: number): void {
    this.done[kind] = (this.done[kind] ?? 0) + 1;
    this.window[kind] = (this.window[kind] ?? 0) + 1;
    (this.latency[kind] ??= []).push(performance.now() - startedAt);
  }

  private bump(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  // ----- sockets

  private request(l: Listener, message: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      if (l.state === "closed" || l.ws.readyState !== WebSocket.OPEN) return resolve({ failure: "closed before sending" });
      const requestId = `r${++l.requests}`;
      const timer = setTimeout(() => {
        this.timeouts++;
        l.pending = undefined;
        resolve({ failure: "timeout" });
        this.close(l, true); // a socket in an unknown state is dropped: the server un-counts it
      }, REQUEST_TIMEOUT_MS);
      l.pending = { requestId, timer, done: (reply) => (clearTimeout(timer), (l.pending = undefined), resolve(reply)) };
      l.ws.send(JSON.stringify({ ...message, requestId }));
    });
  }

  private close(l: Listener, abrupt: boolean): void {
    l.closedByUs = true;
    this.setMember(l, false);
    this.uncount(l);
    if (abrupt) l.ws.terminate();
    else if (l.ws.readyState === WebSocket.OPEN || l.ws.readyState === WebSocket.CONNECTING) l.ws.close(1000);
  }

  private onMessage(l: Listener, data: WebSocket.RawData): void {
    const msg = JSON.parse(String(data)) as ServerMessage;
    const rid = "requestId" in msg ? msg.requestId : undefined;
    // An error without requestId (the gateway's rate limiter) answers the one request in flight.
    if (l.pending && (rid === l.pending.requestId || (msg.type === "error" && rid === undefined))) l.pending.done({ msg });
    else this.bump(this.unsolicited, msg.type);
  }

  private onClose(l: Listener, code: number): void {
    if (l.state === "closed") return;
    l.state = "closed";
    this.fromPool(l);
    this.uncount(l);
    this.setMember(l, false);
    this.live.delete(l);
    if (!l.closedByUs) {
      if (code === 4000 && l.replaced) this.replacedClosed4000++;
      else this.bump(this.unexpectedCloses, String(code));
    }
    l.pending?.done({ failure: `closed ${code}` });
  }

  /** Opens a listener connection and joins; resolves when the join is answered (or failed). */
  join(kind: JoinKind, lang: Lang, clientKey: string, old?: Listener): Promise<void> {
    const l = new Listener(++this.seq, clientKey);
    this.setMember(l, true);
    this.live.add(l);
    this.inFlight++;
    const startedAt = performance.now();
    const url = `${this.ctx.wsBase}/ws?sessionId=${encodeURIComponent(this.sessionId)}&targetLanguage=${lang}`;
    return new Promise<void>((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      l.ws = ws;
      let opened = false;
      const finish = () => {
        this.inFlight--;
        resolve();
      };
      ws.on("message", (data) => this.onMessage(l, data));
      ws.on("error", (error: NodeJS.ErrnoException) => {
        if (!opened) this.bump(this.connectFailures, error.code ?? error.message);
      });
      ws.once("unexpected-response", (_req, res) => {
        this.bump(this.connectFailures, `HTTP ${res.statusCode}`);
        l.closedByUs = true;
        ws.terminate();
      });
      ws.on("close", (code) => {
        this.onClose(l, code);
        if (!opened) {
          if (old) this.close(old, false);
          finish();
        }
      });
      ws.once("open", () => {
        opened = true;
        void this.request(l, { action: "joinSession", sessionId: this.sessionId, targetLanguage: lang, clientKey }).then((reply) => {
          if ("msg" in reply && reply.msg.type === "sessionJoined" && l.state !== "closed") {
            this.count(l, lang);
            // The server un-counted the connection this one replaced before answering.
            if (old) this.uncount(old);
            this.record(kind, startedAt);
            l.nextHeartbeatAt = performance.now() + this.rand() * this.p.heartbeatSeconds * 1000;
            this.toPool(l);
          } else {
            if ("msg" in reply) this.bump(this.errors, `joinSession ${reply.msg.type === "error" ? reply.msg.code : reply.msg.type}`);
            else if (reply.failure !== "timeout") this.bump(this.errors, `joinSession ${reply.failure}`);
            this.close(l, false);
            // A failed takeover leaves the old connection in an unknown state: close it too.
            if (old) this.close(old, false);
          }
          finish();
        });
      });
    });
  }

  private async op(l: Listener, kind: "change" | "leave" | "heartbeat"): Promise<void> {
    this.inFlight++;
    const startedAt = performance.now();
    const action = kind === "change" ? "changeLanguage" : kind === "leave" ? "leaveSession" : "heartbeat";
    const target = kind === "change" ? this.randomLang(l.counted) : undefined;
    if (kind === "leave") this.setMember(l, false);
    const reply = await this.request(l, target ? { action, targetLanguage: target } : { action });
    this.inFlight--;
    if (!("msg" in reply)) {
      // Timeouts are counted (and the socket dropped) by request(); a socket closed under the request is an error.
      if (reply.failure !== "timeout") this.bump(this.errors, `${action} ${reply.failure}`);
      return;
    }
    const msg = reply.msg;
    const expectedType = kind === "change" ? "languageChanged" : kind === "leave" ? "sessionLeft" : "heartbeatAck";
    if (msg.type !== expectedType) {
      this.bump(this.errors, `${action} ${msg.type === "error" ? msg.code : msg.type}`);
      this.close(l, false); // the books cannot know what the server did: close, so both un-count
      return;
    }
    if (msg.type === "languageChanged") {
      if (msg.previousLanguage !== l.counted) this.previousLanguageMismatch++;
      this.count(l, msg.targetLanguage as Lang);
    } else if (msg.type === "sessionLeft") {
      this.uncount(l);
      this.close(l, false);
    } else {
      l.nextHeartbeatAt = performance.now() + this.p.heartbeatSeconds * 1000;
    }
    this.record(kind, startedAt);
    if (kind !== "leave") this.toPool(l);
  }

  private drop(l: Listener): void {
    const startedAt = performance.now();
    this.close(l, true);
    this.dropped.push(l.clientKey);
    this.record("drop", startedAt);
  }

  // ----- phases

  async ramp(): Promise<number> {
    let attempts = 0;
    const started = performance.now();
    const worker = async () => {
      while (this.memberCount < this.p.population && attempts < this.p.population * 1.2) {
        attempts++;
        await this.join("join", this.randomLang(), newKey());
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, this.p.population) }, worker));
    return performance.now() - started;
  }

  startTicking(): void {
    this.lastTick = performance.now();
  }

  /** Spreads the heartbeats of everyone present over one period from now (the ramp put them in step). */
  rephaseHeartbeats(): void {
    const now = performance.now();
    for (const l of this.live) if (l.state !== "closed") l.nextHeartbeatAt = now + this.rand() * this.p.heartbeatSeconds * 1000;
  }

  /** One scheduler step: departures, joins to refill the population, language changes, takeovers, heartbeats. */
  tick(): void {
    const now = performance.now();
    const dt = (now - this.lastTick) / 1000;
    this.lastTick = now;
    const { ops } = this.p;
    const cap = (x: number, rate: number) => Math.min(x, Math.max(2, rate * 2)); // at most 2 s of backlog
    if (ops.has("leave") || ops.has("drop")) this.acc.leave = cap(this.acc.leave + this.p.leavesPerSec * dt, this.p.leavesPerSec);
    if (ops.has("change")) this.acc.change = cap(this.acc.change + this.p.changesPerSec * dt, this.p.changesPerSec);
    if (ops.has("takeover")) this.acc.takeover = cap(this.acc.takeover + this.p.takeoversPerSec * dt, this.p.takeoversPerSec);
    const room = () => this.inFlight < CONCURRENCY;

    while (this.acc.leave >= 1 && room()) {
      const l = this.pickIdle();
      if (!l) break;
      this.acc.leave--;
      this.leaveToggle = !this.leaveToggle;
      const abrupt = ops.has("drop") && (!ops.has("leave") || this.leaveToggle);
      if (abrupt) this.drop(l);
      else void this.op(l, "leave");
    }
    for (let deficit = this.p.population - this.memberCount; deficit > 0 && room(); deficit--) {
      if (ops.has("rejoin") && this.dropped.length > 0 && this.rand() < this.p.rejoinShare) {
        const i = Math.floor(this.rand() * this.dropped.length);
        const key = this.dropped[i]!;
        this.dropped[i] = this.dropped[this.dropped.length - 1]!;
        this.dropped.pop();
        void this.join("rejoin", this.randomLang(), key);
      } else void this.join("join", this.randomLang(), newKey());
    }
    if (this.dropped.length > 1000) this.dropped.splice(0, this.dropped.length - 1000);
    while (this.acc.change >= 1 && room()) {
      const l = this.pickIdle();
      if (!l) break;
      this.acc.change--;
      void this.op(l, "change");
    }
    while (this.acc.takeover >= 1 && room()) {
      const old = this.pickIdle();
      if (!old) break;
      this.acc.takeover--;
      old.replaced = true;
      this.setMember(old, false);
      void this.join("takeover", this.randomLang(), old.clientKey, old);
    }
    if (ops.has("heartbeat")) {
      for (let i = this.idle.length - 1; i >= 0 && room(); i--) {
        const l = this.idle[i]!;
        if (l.nextHeartbeatAt <= now) {
          this.fromPool(l);
          l.state = "busy";
          void this.op(l, "heartbeat");
        }
      }
    }
  }

  /** Waits until no operation is in flight. */
  async quiesce(timeoutMs = QUIESCE_TIMEOUT_MS): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.inFlight > 0 && performance.now() < deadline) await sleep(20);
    return this.inFlight === 0;
  }

  /** Books self-check: every open, idle connection counted once. */
  selfCheck(): { openCounted: number; expected: number } {
    let openCounted = 0;
    for (const l of this.live) if (l.counted && l.state !== "closed") openCounted++;
    return { openCounted, expected: this.expectedTotal() };
  }

  /** Replaced connections whose socket the server has not closed. */
  replacedStillOpen(): number {
    let n = 0;
    for (const l of this.live) if (l.replaced && !l.closedByUs && l.state !== "closed") n++;
    return n;
  }

  async closeEveryone(): Promise<void> {
    const all = [...this.live];
    await Promise.all(
      all.map(
        (l) =>
          new Promise<void>((resolve) => {
            if (l.ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => (l.ws.terminate(), resolve()), 10_000);
            l.ws.once("close", () => (clearTimeout(timer), resolve()));
            this.close(l, false);
          }),
      ),
    );
  }
}

/** Polls getSessionStatus until it has not changed for SETTLE_STABLE_MS (3 reads at least). */
async function settle(speaker: Speaker, timeoutMs = SETTLE_TIMEOUT_MS): Promise<{ status: Status; ms: number; stable: boolean }> {
  const started = performance.now();
  let last = await speaker.status();
  let changedAt = performance.now();
  let reads = 1;
  while ((reads < 3 || performance.now() - changedAt < SETTLE_STABLE_MS) && performance.now() - started < timeoutMs) {
    await sleep(100);
    const now = await speaker.status();
    if (now.listenerCount !== last.listenerCount || !sameCounts(now.languageDistribution, last.languageDistribution)) {
      changedAt = performance.now();
      reads = 1;
    } else reads++;
    last = now;
  }
  return { status: last, ms: Math.round(changedAt - started), stable: performance.now() - changedAt >= SETTLE_STABLE_MS };
}

/** Least-squares slope of (seconds, MB), in MB per minute. */
function slopePerMinute(points: { t: number; v: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.v - mv), 0);
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}

/** mulberry32: a seeded generator, so a run's choices can be replayed (timing still varies). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------
// The run

async function run(ctx: BenchContext): Promise<BenchResult> {
  const p = profile(ctx.quick);
  const seed = envNumber("BENCH_CHURN_SEED") ?? 1;
  ctx.log(
    `churn: ${fmt(p.population)} listeners, ${p.churnSeconds} s of churn (warm-up ${p.warmupSeconds} s): ` +
      `${p.leavesPerSec} departures/s, ${p.changesPerSec} language changes/s, ${p.takeoversPerSec} takeovers/s; ops ${[...p.ops].join(",")}`,
  );
  const token = await ctx.speakerToken();
  const speaker = await Speaker.connect(`${ctx.wsBase}/ws?token=${encodeURIComponent(token)}`);
  const created = await speaker.request({ action: "createSession", sourceLanguage: "en", targetLanguages: BENCH_TARGETS, title: "bench churn" });
  if (created.type !== "sessionCreated") throw new Error(`createSession: ${JSON.stringify(created)}`);
  requireOffered(created);
  const { sessionId } = created;
  const speakerBeat = setInterval(() => void speaker.request({ action: "heartbeat" }).catch(() => undefined), 60_000);

  const churn = new Churn(ctx, sessionId, p, seeded(seed));

  // Timeline: one point a second.
  const timeline: TimelinePoint[] = [];
  let phase: TimelinePoint["phase"] = "ramp";
  let churnStartedAt = performance.now();
  let churning = false;
  const staleness: number[] = [];
  const sample = () => {
    const t = Math.round((performance.now() - churnStartedAt) / 1000);
    const pushed = speaker.lastPush?.listenerCount ?? null;
    const expected = churn.expectedTotal();
    if (churning && pushed !== null) staleness.push(Math.abs(pushed - expected));
    timeline.push({ t: phase === "ramp" ? -1 : t, phase, rssMb: mb(rssKb(ctx.serverPid)), members: churn.memberCount, expected, pushed, inFlight: churn.inFlight });
    const w = churn.window;
    if (churning && t % 15 === 0) {
      ctx.log(
        `  t=${t}s RSS ${timeline[timeline.length - 1]!.rssMb} MB, members ${churn.memberCount}, expected ${expected}, pushed ${pushed}, in flight ${churn.inFlight}, ` +
          `last second: ${Object.entries(w).map(([k, v]) => `${k} ${v}`).join(", ")}`,
      );
    }
    for (const k of Object.keys(w)) delete w[k];
  };
  const rssBefore = mb(rssKb(ctx.serverPid));
  const sampler = setInterval(sample, 1000);

  try {
    // Ramp up.
    const rampMs = await churn.ramp();
    await churn.quiesce();
    const rampJoined = churn.done.join ?? 0;
    const rampJoinsPerSec = Math.round(rampJoined / (rampMs / 1000));
    const rampEnd = await settle(speaker);
    const rampExact = rampEnd.status.listenerCount === churn.expectedTotal() && sameCounts(rampEnd.status.languageDistribution, churn.expectedCounts());
    ctx.log(`  ramp: ${fmt(rampJoined)} joined in ${fmt(Math.round(rampMs))} ms (${rampJoinsPerSec} joins/s); counts ${rampExact ? "exact" : `WRONG: ${JSON.stringify(rampEnd.status)} vs ${JSON.stringify(churn.expectedCounts())}`}`);
    for (const k of Object.keys(churn.done)) delete churn.done[k];
    for (const k of Object.keys(churn.latency)) delete churn.latency[k];

    // Churn.
    phase = "churn";
    churning = true;
    churnStartedAt = performance.now();
    const cpu0 = cpuSeconds(ctx.serverPid);
    const benchCpu0 = cpuSeconds("self");
    const pushes0 = speaker.pushes;
    const checkpoints: Checkpoint[] = [];
    churn.rephaseHeartbeats();
    churn.startTicking();
    let nextCheckpoint = p.checkpointSeconds > 0 ? p.checkpointSeconds * 1000 : Infinity;
    let pausedMs = 0;
    const churnEndsAt = () => churnStartedAt + pausedMs + p.churnSeconds * 1000;
    while (performance.now() < churnEndsAt()) {
      churn.tick();
      await sleep(TICK_MS);
      if (performance.now() - churnStartedAt - pausedMs >= nextCheckpoint) {
        // Optional diagnosis: stop, settle, compare, go on.
        const pauseStart = performance.now();
        await churn.quiesce();
        const s = await settle(speaker);
        const exact = s.status.listenerCount === churn.expectedTotal() && sameCounts(s.status.languageDistribution, churn.expectedCounts());
        const atS = Math.round((pauseStart - churnStartedAt) / 1000);
        checkpoints.push({ atS, expected: churn.expectedTotal(), ws: s.status.listenerCount, exact, diff: diffCounts(s.status.languageDistribution, churn.expectedCounts()) });
        ctx.log(`  checkpoint t=${atS}s: ${exact ? "exact" : `WRONG ws ${s.status.listenerCount} expected ${churn.expectedTotal()} diff ${JSON.stringify(diffCounts(s.status.languageDistribution, churn.expectedCounts()))}`}`);
        nextCheckpoint += p.checkpointSeconds * 1000;
        pausedMs += performance.now() - pauseStart;
        churn.startTicking();
      }
    }
    const churnWallS = (performance.now() - churnStartedAt - pausedMs) / 1000;
    const cpu1 = cpuSeconds(ctx.serverPid);
    const benchCpu1 = cpuSeconds("self");
    const pushes = speaker.pushes - pushes0;

    // Stop and settle.
    churning = false;
    phase = "settle";
    const stoppedAt = performance.now();
    let pushMatchedMs: number | undefined;
    const matches = (s: Status) => s.listenerCount === churn.expectedTotal() && sameCounts(s.languageDistribution, churn.expectedCounts());
    speaker.onPush = (s) => {
      if (pushMatchedMs === undefined && churn.inFlight === 0 && matches(s)) pushMatchedMs = performance.now() - stoppedAt;
    };
    const quiet = await churn.quiesce();
    const quiescedMs = performance.now() - stoppedAt;
    if (speaker.lastPush && matches(speaker.lastPush) && pushMatchedMs === undefined) pushMatchedMs = Math.max(0, speaker.lastPush.at - stoppedAt);
    const settled = await settle(speaker);
    const expectedCounts = churn.expectedCounts();
    const expectedTotal = churn.expectedTotal();
    const http = await httpListenerCount(ctx.baseUrl, sessionId);
    const lastPush = speaker.lastPush;
    const self = churn.selfCheck();
    const exact =
      settled.status.listenerCount === expectedTotal &&
      sameCounts(settled.status.languageDistribution, expectedCounts) &&
      http === expectedTotal;
    const rssAtEnd = mb(rssKb(ctx.serverPid));
    ctx.log(
      `  end of churn: expected ${expectedTotal} ${JSON.stringify(expectedCounts)}; getSessionStatus ${settled.status.listenerCount} ${JSON.stringify(settled.status.languageDistribution)}; ` +
        `HTTP ${http}; ${exact ? "exact" : "NOT exact"} (settled in ${settled.ms} ms; last push ${lastPush ? lastPush.listenerCount : "none"})`,
    );
    const watch: { afterMs: number; ws: number; diff: Counts }[] = [];
    if (!exact) {
      // Does the sweeper (every 30 s, needs 30 s quiet) correct it, and to what?
      const watchStart = performance.now();
      let prev = settled.status;
      while (performance.now() - watchStart < WATCH_AFTER_WRONG_MS) {
        await sleep(1000);
        const now = await speaker.status();
        if (now.listenerCount !== prev.listenerCount || !sameCounts(now.languageDistribution, prev.languageDistribution)) {
          watch.push({ afterMs: Math.round(performance.now() - watchStart), ws: now.listenerCount, diff: diffCounts(now.languageDistribution, expectedCounts) });
          ctx.log(`  ... ${Math.round((performance.now() - watchStart) / 1000)} s later: ${JSON.stringify(now)}`);
        }
        prev = now;
      }
      watch.push({ afterMs: WATCH_AFTER_WRONG_MS, ws: prev.listenerCount, diff: diffCounts(prev.languageDistribution, expectedCounts) });
    }
    const replacedStillOpen = churn.replacedStillOpen();

    // Everyone leaves: back to 0.
    phase = "close";
    const closing = performance.now();
    const openAtClose = churn.live.size;
    await churn.closeEveryone();
    const drained = await settle(speaker);
    const httpAfter = await httpListenerCount(ctx.baseUrl, sessionId);
    const zero = drained.status.listenerCount === 0 && Object.keys(drained.status.languageDistribution).length === 0 && httpAfter === 0;
    const drainMs = Math.round(performance.now() - closing);
    ctx.log(`  after everyone left: getSessionStatus ${JSON.stringify(drained.status)}, HTTP ${httpAfter}: ${zero ? "0" : "NOT 0"}`);
    await sleep(1000);
    const rssAfterClose = mb(rssKb(ctx.serverPid));

    // RSS: baseline = the last sample of the warm-up; flat = every later churn sample within ±20 % of it.
    const churnSamples = timeline.filter((s) => s.phase === "churn");
    const warm = churnSamples.filter((s) => s.t <= p.warmupSeconds);
    // The warm-up's last level: the median of its last 10 samples (one sample can sit anywhere on a GC sawtooth).
    const lastTen = warm.slice(-10).map((s) => s.rssMb).sort((a, b) => a - b);
    const base = lastTen.length ? lastTen[Math.floor((lastTen.length - 1) / 2)]! : NaN;
    const after = churnSamples.filter((s) => s.t > p.warmupSeconds);
    const afterRss = after.map((s) => s.rssMb);
    // A churn shorter than the warm-up (a diagnosis run) has nothing to judge: NaN, not ±Infinity.
    const minAfter = afterRss.length ? Math.min(...afterRss) : NaN;
    const maxAfter = afterRss.length ? Math.max(...afterRss) : NaN;
    const rss = {
      beforeMb: rssBefore,
      rampEndMb: timeline.filter((s) => s.phase === "ramp").pop()?.rssMb ?? NaN,
      warmupEndMb: base,
      warmupLastSampleMb: warm[warm.length - 1]?.rssMb ?? NaN,
      warmupPeakMb: Math.max(...warm.map((s) => s.rssMb)),
      afterWarmup: { n: after.length, minMb: minAfter, maxMb: maxAfter, lastMb: afterRss[afterRss.length - 1] ?? NaN },
      ratio: { min: r2(minAfter / base), max: r2(maxAfter / base), last: r2((afterRss[afterRss.length - 1] ?? NaN) / base) },
      slopeMbPerMin: r1(slopePerMinute(after.map((s) => ({ t: s.t, v: s.rssMb })))),
      endOfChurnMb: rssAtEnd,
      afterCloseMb: rssAfterClose,
    };
    const flat = after.length > 0 && rss.ratio.max <= 1 + RSS_TOLERANCE && rss.ratio.min >= 1 - RSS_TOLERANCE;

    const perSec = (k: string) => r1((churn.done[k] ?? 0) / churnWallS);
    const opsTable = [
      { op: "join (new clientKey)", key: "join", target: null as number | null },
      { op: "rejoin (clientKey of a dropped listener)", key: "rejoin", target: null },
      { op: "takeover (clientKey of a live listener)", key: "takeover", target: p.takeoversPerSec },
      { op: "changeLanguage", key: "change", target: p.changesPerSec },
      { op: "leaveSession (then close)", key: "leave", target: p.leavesPerSec / 2 },
      { op: "abrupt drop (socket terminated)", key: "drop", target: p.leavesPerSec / 2 },
      { op: "heartbeat", key: "heartbeat", target: null },
    ].map((row) => ({ ...row, count: churn.done[row.key] ?? 0, perSec: perSec(row.key), latencyMs: percentiles(churn.latency[row.key] ?? []) }));
    const totalOps = opsTable.reduce((s, r) => s + r.count, 0);

    const data = {
      profile: { ...p, ops: [...p.ops], seed, concurrency: CONCURRENCY, languages: BENCH_LANGUAGES },
      sessionId,
      ramp: { joined: rampJoined, ms: Math.round(rampMs), joinsPerSec: rampJoinsPerSec, exact: rampExact, settledMs: rampEnd.ms },
      churn: {
        seconds: r1(churnWallS),
        opsPerSec: r1(totalOps / churnWallS),
        ops: opsTable,
        errors: churn.errors,
        connectFailures: churn.connectFailures,
        unexpectedCloses: churn.unexpectedCloses,
        unsolicited: churn.unsolicited,
        timeouts: churn.timeouts,
        replacedClosed4000: churn.replacedClosed4000,
        replacedStillOpen,
        previousLanguageMismatch: churn.previousLanguageMismatch,
        serverCpu: r2((cpu1 - cpu0) / churnWallS),
        benchCpu: r2((benchCpu1 - benchCpu0) / churnWallS),
        checkpoints,
      },
      pushes: {
        count: pushes,
        perSec: r1(pushes / churnWallS),
        deliveryAgeMs: percentiles(speaker.pushAgeMs),
        stalenessListeners: percentiles(staleness),
        matchedAfterStopMs: pushMatchedMs === undefined ? null : Math.round(pushMatchedMs),
        lastPush: lastPush ? { listenerCount: lastPush.listenerCount, languageDistribution: lastPush.languageDistribution } : null,
      },
      end: {
        quiesced: quiet,
        quiescedMs: Math.round(quiescedMs),
        settledMs: settled.ms,
        stable: settled.stable,
        expected: { total: expectedTotal, perLanguage: expectedCounts },
        ws: settled.status,
        http,
        exact,
        diff: { total: settled.status.listenerCount - expectedTotal, perLanguage: diffCounts(settled.status.languageDistribution, expectedCounts) },
        selfCheck: self,
        watch,
      },
      drain: { open: openAtClose, ms: drainMs, settledMs: drained.ms, ws: drained.status, http: httpAfter, zero },
      rss: { ...rss, flat, tolerance: RSS_TOLERANCE },
      /** Every 5th second (the RSS figures above use every sample). */
      timeline: timeline.filter((s) => s.phase !== "churn" || s.t % 5 === 0),
    };

    const targets: TargetCheck[] = [
      {
        metric: `counts at the end of ${Math.round(churnWallS)} s of churn (getSessionStatus total and per language, HTTP listenerCount)`,
        target: "equal to the counts implied by the replies",
        measured: exact
          ? `exact: ${fmt(expectedTotal)} (${BENCH_LANGUAGES.map((l) => `${l} ${expectedCounts[l] ?? 0}`).join(", ")})`
          : `expected ${fmt(expectedTotal)}; ws ${fmt(settled.status.listenerCount)} (off ${JSON.stringify(data.end.diff.perLanguage)}), HTTP ${http}`,
        met: exact,
      },
      {
        metric: "count after every listener closed",
        target: "0 (total, per language, HTTP)",
        measured: zero ? `0 (settled in ${fmt(drained.ms)} ms)` : `ws ${drained.status.listenerCount} ${JSON.stringify(drained.status.languageDistribution)}, HTTP ${httpAfter}`,
        met: zero,
      },
      {
        metric: `server RSS after the ${p.warmupSeconds} s warm-up`,
        target: `every sample within ±${RSS_TOLERANCE * 100} % of the warm-up's last level (median of its last 10 s)`,
        measured: after.length === 0 ? `no samples after the warm-up (churn of ${Math.round(churnWallS)} s)` : `warm-up ${base} MB; after: ${rss.afterWarmup.minMb}–${rss.afterWarmup.maxMb} MB (×${rss.ratio.min}–×${rss.ratio.max}), last ${rss.afterWarmup.lastMb} MB (×${rss.ratio.last}); ${rss.slopeMbPerMin >= 0 ? "+" : ""}${rss.slopeMbPerMin} MB/min`,
        met: flat,
      },
    ];
    ctx.log(
      `  churn: ${data.churn.opsPerSec} ops/s (${opsTable.map((r) => `${r.key} ${r.perSec}/s`).join(", ")}); errors ${JSON.stringify(churn.errors)}; ` +
        `RSS ${base} -> ${rss.afterWarmup.minMb}..${rss.afterWarmup.maxMb} (last ${rss.afterWarmup.lastMb}) MB`,
    );
    return { targets, data, markdown: markdown(data, p) };
  } finally {
    clearInterval(sampler);
    clearInterval(speakerBeat);
    await churn.closeEveryone().catch(() => undefined);
    await speaker.request({ action: "endSession" }).catch(() => undefined);
    await speaker.close();
  }
}

// ---------------------------------------------------------------------------
// Report

type Data = {
  profile: { population: number; churnSeconds: number; warmupSeconds: number; concurrency: number; heartbeatSeconds: number; ops: string[]; leavesPerSec: number; changesPerSec: number; takeoversPerSec: number; rejoinShare: number };
  ramp: { joined: number; ms: number; joinsPerSec: number; exact: boolean };
  churn: {
    seconds: number;
    opsPerSec: number;
    ops: { op: string; key: string; target: number | null; count: number; perSec: number; latencyMs: Percentiles }[];
    errors: Record<string, number>;
    connectFailures: Record<string, number>;
    unexpectedCloses: Record<string, number>;
    timeouts: number;
    replacedClosed4000: number;
    replacedStillOpen: number;
    previousLanguageMismatch: number;
    serverCpu: number;
    benchCpu: number;
    checkpoints: Checkpoint[];
  };
  pushes: { count: number; perSec: number; deliveryAgeMs: Percentiles; stalenessListeners: Percentiles; matchedAfterStopMs: number | null };
  end: { quiescedMs: number; settledMs: number; expected: { total: number; perLanguage: Counts }; ws: Status; http: number | string; exact: boolean; diff: { total: number; perLanguage: Counts }; watch: { afterMs: number; ws: number; diff: Counts }[] };
  drain: { open: number; ms: number; ws: Status; http: number | string; zero: boolean };
  rss: { beforeMb: number; rampEndMb: number; warmupEndMb: number; warmupLastSampleMb: number; warmupPeakMb: number; afterWarmup: { minMb: number; maxMb: number; lastMb: number }; ratio: { min: number; max: number; last: number }; slopeMbPerMin: number; endOfChurnMb: number; afterCloseMb: number; flat: boolean };
  timeline: TimelinePoint[];
};

const listOrNone = (m: Record<string, number>) => (Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k} ×${fmt(v)}`).join(", ") : "none");

function markdown(d: Data, p: ReturnType<typeof profile>): string {
  const ops = d.churn.ops.map(
    (r) => `| ${r.op} | ${r.target === null ? "—" : r1(r.target)} | ${fmt(r.count)} | ${r.perSec} | ${r.latencyMs.n ? `${r.latencyMs.p50} / ${r.latencyMs.p99} / ${r.latencyMs.max}` : "—"} |`,
  );
  const langs = BENCH_LANGUAGES.map((l) => `| ${l} | ${d.end.expected.perLanguage[l] ?? 0} | ${d.end.ws.languageDistribution[l] ?? 0} |`);
  const byTime = d.timeline.filter((s) => s.phase === "churn" && s.t % 15 === 0);
  const timeline = byTime.map((s) => `| ${s.t} | ${s.rssMb} | ${fmt(s.members)} | ${fmt(s.expected)} | ${s.pushed === null ? "—" : fmt(s.pushed)} | ${s.inFlight} |`);
  return [
    `One speaker creates a session; ${fmt(p.population)} listeners open \`/ws?sessionId=…&targetLanguage=…\` and send \`joinSession\` with`,
    `a per-listener \`clientKey\` (${d.profile.concurrency} joins in flight). Then for ${p.churnSeconds} s a scheduler ticking every ${TICK_MS} ms keeps the`,
    `population at ${fmt(p.population)} while it churns at a steady rate: ${p.leavesPerSec} departures/s (alternately \`leaveSession\` then close, and`,
    `an abrupt socket drop), as many joins to refill (about ${Math.round(p.rejoinShare * 100)} % of them reconnecting with the \`clientKey\` of a dropped listener,`,
    `often before the server has processed the drop), ${p.changesPerSec} \`changeLanguage\`/s, and ${p.takeoversPerSec} takeovers/s (a new socket joins with`,
    `the \`clientKey\` of a live listener: the server must close the old one with 4000 and count the client once). Idle listeners`,
    `\`heartbeat\` every ${p.heartbeatSeconds} s (random phase), as the listener page does. Languages: ${BENCH_LANGUAGES.join(", ")}.`,
    `Expected counts are kept from the replies received; at the end the churn stops, in-flight operations finish, and`,
    `\`getSessionStatus\` is polled until it has not changed for ${SETTLE_STABLE_MS / 1000} s, then compared with them and with \`GET /api/sessions/{id}\`.`,
    `Server RSS is \`VmRSS\`, sampled every second; the warm-up is the first ${p.warmupSeconds} s of churn.`,
    "",
    `Ramp: ${fmt(d.ramp.joined)} joined in ${fmt(d.ramp.ms)} ms (${fmt(d.ramp.joinsPerSec)} joins/s), counts ${d.ramp.exact ? "exact" : "**not exact**"}.`,
    `Churn: ${d.churn.seconds} s, **${d.churn.opsPerSec} operations/s** answered; server CPU ${d.churn.serverCpu} cores, benchmark client ${d.churn.benchCpu} cores.`,
    "",
    "| operation | target /s | done | achieved /s | latency p50 / p99 / max (ms) |",
    "|---|---:|---:|---:|---|",
    ...ops,
    "",
    `Error replies: ${listOrNone(d.churn.errors)}. Connection refusals: ${listOrNone(d.churn.connectFailures)}. Timeouts: ${d.churn.timeouts}.`,
    `Closes the benchmark did not ask for: ${listOrNone(d.churn.unexpectedCloses)}; replaced connections closed with 4000: ${fmt(d.churn.replacedClosed4000)}`,
    `(still open at the end: ${d.churn.replacedStillOpen}); \`previousLanguage\` not the one the books had: ${d.churn.previousLanguageMismatch}.`,
    "",
    `Speaker pushes: ${fmt(d.pushes.count)} \`sessionStatus\` pushes (${d.pushes.perSec}/s); delivery age (server timestamp to arrival)`,
    `p50 ${d.pushes.deliveryAgeMs.p50} ms, p99 ${d.pushes.deliveryAgeMs.p99} ms; the last pushed total differed from the books' total (operations in flight) by`,
    `p50 ${d.pushes.stalenessListeners.p50}, p99 ${d.pushes.stalenessListeners.p99}, max ${d.pushes.stalenessListeners.max} listeners (sampled every second);`,
    `after the churn stopped a push matched the expected counts ${d.pushes.matchedAfterStopMs === null ? "**never**" : `after ${fmt(d.pushes.matchedAfterStopMs)} ms`}.`,
    "",
    `End of churn: in-flight operations done in ${fmt(d.end.quiescedMs)} ms, counts stable after ${fmt(d.end.settledMs)} ms.`,
    `Expected ${fmt(d.end.expected.total)}, \`getSessionStatus\` ${fmt(d.end.ws.listenerCount)}, HTTP ${d.end.http}: ${d.end.exact ? "**exact**" : `**not exact** (off by ${d.end.diff.total}: ${JSON.stringify(d.end.diff.perLanguage)})`}.`,
    ...(d.end.watch.length ? [`Watched ${WATCH_AFTER_WRONG_MS / 1000} s more: ${d.end.watch.map((w) => `${r1(w.afterMs / 1000)} s: ${w.ws} (${JSON.stringify(w.diff)})`).join("; ")}.`] : []),
    "",
    "| language | expected | getSessionStatus |",
    "|---|---:|---:|",
    ...langs,
    "",
    `Then all ${fmt(d.drain.open)} open connections closed: \`getSessionStatus\` ${d.drain.ws.listenerCount}, HTTP ${d.drain.http} ${d.drain.zero ? "(back to 0)" : "(**not 0**)"} after ${fmt(d.drain.ms)} ms.`,
    "",
    `RSS (MB): ${d.rss.beforeMb} before the ramp, ${d.rss.rampEndMb} at the end of the ramp, ${d.rss.warmupEndMb} at the end of the warm-up (median of its last 10 samples; last sample ${d.rss.warmupLastSampleMb})`,
    `(peak ${d.rss.warmupPeakMb} during it); after the warm-up ${d.rss.afterWarmup.minMb}–${d.rss.afterWarmup.maxMb} (×${d.rss.ratio.min}–×${d.rss.ratio.max}),`,
    `${d.rss.endOfChurnMb} at the end of the churn (trend ${d.rss.slopeMbPerMin >= 0 ? "+" : ""}${d.rss.slopeMbPerMin} MB/min after the warm-up), ${d.rss.afterCloseMb} after everyone left.`,
    ...(d.churn.checkpoints.length
      ? ["", `Checkpoints (churn paused, counts settled and compared): ${d.churn.checkpoints.map((c) => `t=${c.atS}s ${c.exact ? "exact" : `off ${c.ws - c.expected} ${JSON.stringify(c.diff)}`}`).join("; ")}.`]
      : []),
    "",
    "| t (s) | RSS MB | population | expected count | last pushed count | ops in flight |",
    "|---:|---:|---:|---:|---:|---:|",
    ...timeline,
  ].join("\n");
}

export const churn: Benchmark = {
  name: "churn",
  title: "Churn: listeners joining, changing language and leaving",
  run,
};
