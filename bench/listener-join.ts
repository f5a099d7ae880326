import type { Benchmark, BenchContext, BenchResult } from "./types";
import { addInitScript, launchChromium, listenerContext, percentile, startLiveSpeaker } from "../tests/e2e/support/harness";
import { watchFirstAudio } from "../tests/e2e/support/instrument";

/**
 * Listener join time: from navigating to the join URL (language chosen in
 * the link, Listen clicked as soon as the page can take the click) to the
 * first decoded audio above a level threshold, as the listener's page plays
 * it. Each join is a fresh browser context (a new phone: cold cache, new
 * control connection, new WebRTC connection) to one live session.
 *
 * Timestamps are the page's own performance.now(), whose zero is the start of
 * the navigation: server response, hydration, the click, the control join,
 * getMediaChannel, KVS signaling, ICE/DTLS and the first audio frames are all
 * inside the figure.
 */

const FIRST_AUDIO_RMS = 0.01;
const LANGUAGES = ["de", "fr", "es", "it", "pt"] as const;

declare global {
  interface Window {
    __earshotClickAt?: number;
  }
}

function recordClick(): void {
  document.addEventListener(
    "click",
    (e) => {
      if ((e.target as Element | null)?.closest?.('[data-testid="listen-button"]')) window.__earshotClickAt ??= performance.now();
    },
    true,
  );
}

interface Join {
  /** ms from navigation start to the first audio above the threshold. */
  firstAudioMs: number;
  /** ms from navigation start to the Listen click (server response + scripts + hydration). */
  clickMs: number;
  /** ms from the click to the first audio. */
  clickToAudioMs: number;
  /** ms from navigation start to the HTML's end. */
  responseEndMs: number;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const joins = ctx.quick ? 5 : 25;
  const browser = await launchChromium();
  const results: Join[] = [];
  const failures: string[] = [];
  try {
    const speaker = await startLiveSpeaker(browser, ctx.baseUrl, "Bench: listener join");
    ctx.log(`  session ${speaker.sessionId} is live; ${joins} joins, one at a time`);
    for (let i = 0; i < joins; i++) {
      const context = await listenerContext(browser, ctx.baseUrl);
      try {
        await addInitScript(context, watchFirstAudio, FIRST_AUDIO_RMS);
        await addInitScript(context, recordClick);
        const page = await context.newPage();
        const language = LANGUAGES[i % LANGUAGES.length]!;
        await page.goto(`/join/${speaker.sessionId}?lang=${language}`, { waitUntil: "commit" });
        // Playwright clicks as soon as the button is enabled: the server renders it disabled until the page is hydrated.
        await page.getByTestId("listen-button").click({ timeout: 30_000 });
        await page.waitForFunction(() => window.__earshotFirstAudio !== undefined, null, { timeout: 30_000, polling: "raf" });
        const m = await page.evaluate(() => {
          const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
          return { firstAudio: window.__earshotFirstAudio!, click: window.__earshotClickAt ?? Number.NaN, responseEnd: nav?.responseEnd ?? Number.NaN };
        });
        results.push({ firstAudioMs: m.firstAudio, clickMs: m.click, clickToAudioMs: m.firstAudio - m.click, responseEndMs: m.responseEnd });
        ctx.log(`  join ${String(i + 1).padStart(2)}: first audio at ${Math.round(m.firstAudio)} ms (click at ${Math.round(m.click)} ms)`);
      } catch (error) {
        failures.push(error instanceof Error ? error.message.split("\n")[0]! : String(error));
        ctx.log(`  join ${i + 1} failed: ${failures.at(-1)}`);
      } finally {
        await context.close();
      }
    }
    await speaker.context.close();
  } finally {
    await browser.close();
  }

  const first = results.map((r) => r.firstAudioMs);
  const p50 = percentile(first, 50);
  const p95 = percentile(first, 95);
  const stat = (values: number[]) => ({ p50: Math.round(percentile(values, 50)), p95: Math.round(percentile(values, 95)), max: Math.round(Math.max(...values)) });
  const summary = {
    joins,
    succeeded: results.length,
    failures,
    firstAudioMs: stat(first),
    clickMs: stat(results.map((r) => r.clickMs)),
    clickToAudioMs: stat(results.map((r) => r.clickToAudioMs)),
    responseEndMs: stat(results.map((r) => r.responseEndMs)),
    samples: results.map((r) => ({ firstAudioMs: Math.round(r.firstAudioMs), clickMs: Math.round(r.clickMs) })),
  };
  const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : "n/a");
  const allJoined = failures.length === 0;
  const markdown = [
    `${results.length} of ${joins} joins, one after another, each in a fresh Chromium context (phone viewport, cold cache) against one live session on this machine (loopback, embedded relay, no TURN).`,
    "Measured in the listener's page: `performance.now()` (zero = navigation start) when the audio it plays first has an RMS above",
    `${FIRST_AUDIO_RMS} (an AnalyserNode on the \`<audio>\` element's stream; the speaker is Chromium's fake microphone playing a 440 Hz tone).`,
    "The Listen button is clicked as soon as it is enabled (the page renders it disabled until hydrated).",
    "",
    "| phase (ms from navigation start) | p50 | p95 | max |",
    "|---|---|---|---|",
    `| HTML received (responseEnd) | ${summary.responseEndMs.p50} | ${summary.responseEndMs.p95} | ${summary.responseEndMs.max} |`,
    `| Listen clicked (page hydrated) | ${summary.clickMs.p50} | ${summary.clickMs.p95} | ${summary.clickMs.max} |`,
    `| **first audio** | **${summary.firstAudioMs.p50}** | **${summary.firstAudioMs.p95}** | ${summary.firstAudioMs.max} |`,
    `| click → first audio (control join, getMediaChannel, signaling, ICE/DTLS, first frames) | ${summary.clickToAudioMs.p50} | ${summary.clickToAudioMs.p95} | ${summary.clickToAudioMs.max} |`,
    "",
    failures.length ? `Failed joins: ${failures.map((f) => `\`${f}\``).join("; ")}` : "Every join heard audio.",
    "",
    "On a real network add the round trips (control, signaling, ICE) and, through TURN, the relay's; the cloud's KVS signaling is one more hop than the embedded relay.",
  ].join("\n");
  return {
    targets: [
      { metric: "join → first audio, p50", target: "<= 600 ms", measured: ms(p50), met: allJoined && p50 <= 600 },
      { metric: "join → first audio, p95", target: "<= 1000 ms", measured: ms(p95), met: allJoined && p95 <= 1000 },
    ],
    data: summary,
    markdown,
  };
}

export const listenerJoin: Benchmark = {
  name: "listener-join",
  title: "Listener join: from the join URL to the first audio",
  run,
};
