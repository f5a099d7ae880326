/**
 * Profiling aid, loaded into the SERVER process (not the server's code) with
 *   BENCH_SERVER_NODE_ARGS="--import ./bench/tools/trace-store.mjs"
 * Times every DynamoDB call the server makes (by X-Amz-Target, from request
 * to end of response, including the wait for a pooled socket), the event
 * loop's utilisation and delay, and prints a summary every 5 s and at exit to
 * stderr (bench/.results/server.log), with the process memory (RSS, V8 heap, external).
 */
import http from "node:http";
import { performance, monitorEventLoopDelay } from "node:perf_hooks";

const stats = new Map();
let inFlight = 0;
let peakInFlight = 0;
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let elu = performance.eventLoopUtilization();

const events = new Map();
function count(what) {
  events.set(what, (events.get(what) || 0) + 1);
}

function record(target, ms) {
  let s = stats.get(target);
  if (!s) stats.set(target, (s = { n: 0, total: 0, max: 0, samples: [] }));
  s.n++;
  s.total += ms;
  if (ms > s.max) s.max = ms;
  if (s.samples.length < 20000) s.samples.push(ms);
}

const original = http.request;
http.request = function patchedRequest(...args) {
  const req = original.apply(this, args);
  const started = performance.now();
  let target;
  try {
    target = String(req.getHeader("x-amz-target") || "").replace("DynamoDB_20120810.", "");
  } catch {
    target = "";
  }
  if (!target) return req;
  const end = req.end;
  req.end = function patchedEnd(chunk, ...rest) {
    try {
      const body = JSON.parse(String(chunk || "{}"));
      const table = String(body.TableName || "").replace(/^earshot-/, "");
      const expr = String(body.UpdateExpression || "").split(/[ ,]/).slice(0, 2).join(" ");
      count(`call ${target} ${table} ${expr}`.trim());
    } catch {
      // not JSON
    }
    return end.call(this, chunk, ...rest);
  };
  inFlight++;
  if (inFlight > peakInFlight) peakInFlight = inFlight;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    inFlight--;
    record(target, performance.now() - started);
  };
  let attempt = "";
  try {
    attempt = /attempt=(\d+)/.exec(String(req.getHeader("amz-sdk-request") || ""))?.[1] || "";
  } catch {
    attempt = "";
  }
  if (attempt && attempt !== "1") count(`retry (attempt ${attempt}) ${target}`);
  req.on("response", (res) => {
    if ((res.statusCode || 0) >= 400) {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => count(`HTTP ${res.statusCode} ${target} ${(/"__type":"[^#"]*#?([^"]+)"/.exec(body) || [])[1] || body.slice(0, 80)}`));
    }
    res.on("end", finish);
  });
  req.on("error", (error) => (count(`error ${target} ${error.code || error.message}`), finish()));
  return req;
};

function summary(label) {
  const now = performance.eventLoopUtilization(elu);
  elu = performance.eventLoopUtilization();
  const lines = [`[trace-store] ${label}: event loop busy ${(now.utilization * 100).toFixed(0)}%, delay p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms max ${(loop.max / 1e6).toFixed(1)} ms; store calls in flight peak ${peakInFlight}`];
  for (const [target, s] of [...stats].sort((a, b) => b[1].total - a[1].total)) {
    const sorted = s.samples.slice().sort((a, b) => a - b);
    const p = (q) => (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] || 0).toFixed(1);
    lines.push(`  ${target.padEnd(14)} n=${String(s.n).padStart(6)} mean ${(s.total / s.n).toFixed(1).padStart(6)} ms  p50 ${p(0.5).padStart(6)}  p99 ${p(0.99).padStart(7)}  max ${s.max.toFixed(1).padStart(7)}`);
  }
  const m = process.memoryUsage();
  const MB = (b) => (b / 2 ** 20).toFixed(0);
  lines.push(`  memory: rss ${MB(m.rss)} MB, heap used ${MB(m.heapUsed)} / total ${MB(m.heapTotal)} MB, external ${MB(m.external)} MB (array buffers ${MB(m.arrayBuffers)} MB)`);
  for (const [what, n] of events) lines.push(`  ${what}: ${n}`);
  process.stderr.write(lines.join("\n") + "\n");
  stats.clear();
  events.clear();
  peakInFlight = inFlight;
  loop.reset();
}

setInterval(() => (stats.size || events.size) && summary("last 5 s"), 5000).unref();
process.on("exit", () => summary("at exit"));
