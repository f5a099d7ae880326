/**
 * Summarises a V8 .cpuprofile (from BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/.results"):
 * self time by package / file and the top functions.
 *
 *   node --import tsx bench/tools/cpuprofile-summary.ts bench/.results/CPU.*.cpuprofile [top]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function bucket(url: string): string {
  if (!url) return "(native / V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  const m = /\/(lib|app|bench)\/.*$/.exec(url);
  return m ? m[0].slice(1) : url;
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: cpuprofile-summary.ts FILE [top]");
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const byBucket = new Map<string, number>();
const byFn = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const b = bucket(n.callFrame.url);
  byBucket.set(b, (byBucket.get(b) ?? 0) + us);
  const fn = `${n.callFrame.functionName || "(anonymous)"}  ${bucket(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`profile ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s wall, ${(total / 1e6).toFixed(1)} s sampled`);
console.log("\nself time by package / file:");
for (const [b, us] of [...byBucket].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${b}`);
console.log("\nself time by function:");
for (const [f, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${f}`);
