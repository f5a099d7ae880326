import { readFileSync } from "node:fs";
import type { BrowserContext, CDPSession, Page } from "@playwright/test";
import type { Benchmark, BenchContext, BenchResult } from "./types";
import { inboundPackets, launchChromium, listenerContext, startLiveSpeaker } from "../tests/e2e/support/harness";

/**
 * Fan-out: how many listeners of one session all receive the speaker's
 * audio. Peer-to-peer WebRTC means the speaker's browser encodes and sends
 * one Opus stream per listener, so the speaker's CPU is the cost that grows.
 *
 * The speaker runs in a Chromium of its own (its CPU is read per process
 * through CDP SystemInfo.getProcessInfo), the listeners in another; both on
 * this machine, with the server. Steps add listeners to the same session; a
 * step passes when every listener's audio connection is live and its
 * inbound RTP packet count keeps rising.
 */

const CPU_WINDOW_MS = 10_000;
/** Listeners who press Listen at the same moment. */
const WAVE = 5;
const LANGUAGES = ["de", "fr", "es", "it", "pt", "nl"] as const;

interface Step {
  listeners: number;
  live: number;
  receiving: number;
  heardAll: boolean;
  speakerPeers: number;
  shards: number;
  /** Speaker Chromium: renderer processes' CPU, % of one core, over the window. */
  speakerRendererCpu: number;
  /** Speaker Chromium: every process (browser, renderer, audio, network), % of one core. */
  speakerBrowserCpu: number;
  /** Listeners' Chromium, every process, % of one core (shares the same two cores). */
  listenersBrowserCpu: number;
  serverRssMb: number;
  /** Time from pressing Listen on the step's new pages to all of them live, ms. */
  allLiveMs: number;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return Math.round(kb / 1024);
}

type ProcessInfo = { type: string; id: number; cpuTime: number };

async function cpuTimes(cdp: CDPSession): Promise<ProcessInfo[]> {
  const { processInfo } = (await cdp.send("SystemInfo.getProcessInfo")) as { processInfo: ProcessInfo[] };
  return processInfo;
}

/** CPU % of one core per process type group over a window. */
async function measureCpu(speaker: CDPSession, listeners: CDPSession, windowMs: number) {
  const [s0, l0] = await Promise.all([cpuTimes(speaker), cpuTimes(listeners)]);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, windowMs)); // a measurement window, not a wait for an event
  const [s1, l1] = await Promise.all([cpuTimes(speaker), cpuTimes(listeners)]);
  const seconds = (Date.now() - t0) / 1000;
  const delta = (before: ProcessInfo[], after: ProcessInfo[], filter: (p: ProcessInfo) => boolean) => {
    let sum = 0;
    for (const p of after) {
      if (!filter(p)) continue;
      const was = before.find((b) => b.id === p.id)?.cpuTime ?? 0;
      sum += p.cpuTime - was;
    }
    return Math.round((sum / seconds) * 1000) / 10;
  };
  return {
    speakerRendererCpu: delta(s0, s1, (p) => p.type === "renderer"),
    speakerBrowserCpu: delta(s0, s1, () => true),
    listenersBrowserCpu: delta(l0, l1, () => true),
  };
}

/** Whether the page's audio connection is (or becomes) live within the timeout. */
function isLive(page: Page, timeoutMs: number): Promise<boolean> {
  return page
    .locator('[data-testid="audio-player"][data-state="live"]')
    .waitFor({ timeout: timeoutMs })
    .then(
      () => true,
      () => false,
    );
}

/** Whether the page's inbound RTP packet count rises above `was` within the timeout (read every 250 ms). */
async function packetsRise(page: Page, was: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = await inboundPackets(page).catch(() => 0);
    if (now > was) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function peerCount(page: Page): Promise<number> {
  return Number((await page.getByTestId("peer-count").textContent()) ?? "0");
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const steps = ctx.quick ? [10] : [10, 25, 50];
  const speakerBrowser = await launchChromium();
  const listenerBrowser = await launchChromium();
  const results: Step[] = [];
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  try {
    const speaker = await startLiveSpeaker(speakerBrowser, ctx.baseUrl, "Bench: fan-out");
    const speakerCdp = await speakerBrowser.newBrowserCDPSession();
    const listenersCdp = await listenerBrowser.newBrowserCDPSession();
    ctx.log(`  session ${speaker.sessionId} is live`);
    for (const target of steps) {
      const fresh: Page[] = [];
      while (pages.length < target) {
        const context = await listenerContext(listenerBrowser, ctx.baseUrl);
        contexts.push(context);
        const page = await context.newPage();
        await page.goto(`/join/${speaker.sessionId}?lang=${LANGUAGES[pages.length % LANGUAGES.length]}`);
        await page.locator('[data-testid="listen-button"]:enabled').waitFor();
        pages.push(page);
        fresh.push(page);
      }
      // The step's new listeners press Listen in waves of WAVE, each wave together (a room filling up).
      const pressed = Date.now();
      for (let w = 0; w < fresh.length; w += WAVE) {
        const wave = fresh.slice(w, w + WAVE);
        await Promise.all(wave.map((p) => p.getByTestId("listen-button").click()));
        await Promise.all(wave.map((p) => isLive(p, 60_000)));
      }
      const live = await Promise.all(pages.map((p) => isLive(p, 30_000)));
      const allLiveMs = Date.now() - pressed;
      const liveCount = live.filter(Boolean).length;
      // Receiving: each live listener's inbound packets rise.
      const before = await Promise.all(pages.map((p) => inboundPackets(p).catch(() => 0)));
      const receiving = await Promise.all(pages.map((p, i) => packetsRise(p, before[i]!, 20_000)));
      const receivingCount = receiving.filter(Boolean).length;
      await speaker.page.waitForFunction((n) => document.querySelector('[data-testid="peer-count"]')?.textContent === String(n), target, { timeout: 30_000 }).catch(() => undefined);
      const cpu = await measureCpu(speakerCdp, listenersCdp, CPU_WINDOW_MS);
      const step: Step = {
        listeners: target,
        live: liveCount,
        receiving: receivingCount,
        heardAll: liveCount === target && receivingCount === target,
        speakerPeers: await peerCount(speaker.page),
        shards: Math.ceil(target / 10),
        ...cpu,
        serverRssMb: rssMb(ctx.serverPid),
        allLiveMs,
      };
      results.push(step);
      ctx.log(
        `  ${target} listeners: ${liveCount} live, ${receivingCount} receiving, speaker peers ${step.speakerPeers}; ` +
          `speaker renderer CPU ${step.speakerRendererCpu}% (browser ${step.speakerBrowserCpu}%), listeners' browser ${step.listenersBrowserCpu}%, server RSS ${step.serverRssMb} MB`,
      );
      if (!step.heardAll) break;
    }
    await speaker.context.close();
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await Promise.all([speakerBrowser.close(), listenerBrowser.close()]);
  }

  const largest = Math.max(0, ...results.filter((r) => r.heardAll).map((r) => r.listeners));
  const tried = steps.slice(0, results.length);
  const markdown = [
    `Steps of ${tried.join(", ")} listeners in one session (10 per signaling channel, so ${tried.map((n) => Math.ceil(n / 10)).join(", ")} shards).`,
    "The speaker is one Chromium (fake microphone, 440 Hz tone), the listeners another (one context per listener), the server a third process, all on this machine's cores.",
    `New listeners press Listen in waves of ${WAVE}; "all live after" runs from the step's first press to its last listener live.`,
    `A step passes when every listener's audio connection is live and its inbound RTP packet count rises; CPU is read over ${CPU_WINDOW_MS / 1000} s with CDP \`SystemInfo.getProcessInfo\`, in % of one core.`,
    "",
    "| listeners | live | receiving | speaker peers | speaker renderer CPU | speaker Chromium CPU | listeners' Chromium CPU | server RSS | all live after |",
    "|---|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.listeners} | ${r.live} | ${r.receiving} | ${r.speakerPeers} | ${r.speakerRendererCpu}% | ${r.speakerBrowserCpu}% | ${r.listenersBrowserCpu}% | ${r.serverRssMb} MB | ${(r.allLiveMs / 1000).toFixed(1)} s |`,
    ),
    "",
    "Peer-to-peer fan-out costs the speaker one Opus encoder and one SRTP stream per listener (about 32 kbps each). The listeners' Chromium",
    "shares the same two cores, so the speaker's figures are upper bounds of what a speaker's laptop would spend. Past a few dozen listeners",
    "a selective forwarding unit (one upstream from the speaker) is the way to scale; see the brief's note on peer-to-peer.",
  ].join("\n");
  const top = results.at(-1);
  return {
    targets: [
      { metric: "largest session where every listener hears", target: ">= 25 listeners", measured: `${largest} listeners`, met: largest >= 25 || (ctx.quick && largest >= 10) },
    ],
    data: { steps: results, largest, speakerCpuAtLargest: top?.speakerRendererCpu },
    markdown,
  };
}

export const fanout: Benchmark = {
  name: "fanout",
  title: "Fan-out: listeners per session that all hear the speaker",
  run,
};
