import { readFileSync, readdirSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";

/**
 * Measuring helpers shared by the benchmarks: percentiles, and what /proc
 * says of a process (RSS, CPU time), alone or with its children (the speech
 * engines run as child processes of the server).
 */

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a sample (rounded to 0.1). */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(sorted[sorted.length - 1] ?? NaN), mean: r(mean) };
}

/** Resident memory of a process, kB (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15; USER_HZ is 100 on Linux). */
export function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** A process and all its live descendants. */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parentOf) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** RSS of a process tree, kB. */
export function treeRssKb(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + rssKb(pid), 0);
}

/**
 * CPU seconds of a process tree: the live processes' own time plus what their
 * exited children left in cutime/cstime.
 */
export function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Samples a process's RSS every 100 ms; peak since start(). */
export class RssSampler {
  private timer?: NodeJS.Timeout;
  peakKb = 0;
  constructor(private readonly pid: number) {}
  start(): void {
    this.peakKb = rssKb(this.pid);
    this.timer = setInterval(() => this.sample(), 100);
  }
  sample(): number {
    const kb = rssKb(this.pid);
    if (kb > this.peakKb) this.peakKb = kb;
    return kb;
  }
  stop(): number {
    clearInterval(this.timer);
    return this.sample();
  }
}

export const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
export const fmt = (x: number) => x.toLocaleString("en-US");

/** The listener count GET /api/sessions/{id} reports, or the HTTP status when it fails. */
export async function httpListenerCount(baseUrl: string, sessionId: string): Promise<number | string> {
  const res = await fetch(`${baseUrl}/api/sessions/${sessionId}`);
  if (!res.ok) return `HTTP ${res.status}`;
  return ((await res.json()) as { listenerCount: number }).listenerCount;
}

/** A free TCP port on loopback (for a server a benchmark or tool starts). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => done(port));
    });
  });
}
