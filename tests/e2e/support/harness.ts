import { chromium, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { CHROMIUM, DEMO_EMAIL, DEMO_PASSWORD, TONE_WAV, chromiumArgs } from "./env";
import { instrumentPage } from "./instrument";
import { writeToneWav } from "./tone";

/**
 * Browser harness without the test runner (no `expect`): the benchmarks in
 * bench/ drive the same pages the e2e tests do. Waits are on page state.
 */

/** The system Chromium with the fake microphone playing the tone. */
export async function launchChromium(): Promise<Browser> {
  writeToneWav(TONE_WAV);
  return chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs() });
}

export interface LiveSpeaker {
  context: BrowserContext;
  page: Page;
  sessionId: string;
}

/** Signs in through /signin, creates a session and goes live; resolves once the speaker is on air. */
export async function startLiveSpeaker(browser: Browser, baseURL: string, title: string): Promise<LiveSpeaker> {
  const context = await browser.newContext({ baseURL, permissions: ["microphone"] });
  await addInitScript(context, instrumentPage);
  const page = await context.newPage();
  await page.goto("/speaker");
  await page.waitForURL(/\/signin/);
  await page.getByTestId("signin-email").fill(DEMO_EMAIL);
  await page.getByTestId("signin-password").fill(DEMO_PASSWORD);
  await page.getByTestId("signin-submit").click();
  await page.waitForURL(/\/speaker/);
  await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
  await page.getByTestId("session-title-input").fill(title);
  await page.getByTestId("create-session-button").click();
  await page.waitForFunction(() => /^[a-z]+-[a-z]+-\d{3}$/.test(document.querySelector('[data-testid="session-code"]')?.textContent?.trim() ?? ""));
  const sessionId = (await page.getByTestId("session-code").textContent())!.trim();
  await page.getByTestId("go-live-button").click();
  await page.locator('[data-testid="live-audio"][data-phase="live"]').waitFor({ timeout: 30_000 });
  return { context, page, sessionId };
}

/**
 * Adds an init script from a function. Under tsx (the benchmarks), esbuild's
 * keepNames wraps named functions in a `__name()` helper that does not exist
 * in the page; the script brings a stand-in.
 */
export async function addInitScript<A>(context: BrowserContext, fn: (arg: A) => void, arg?: A): Promise<void> {
  const content = `var __name = (f) => f;\n(${fn.toString()})(${arg === undefined ? "" : JSON.stringify(arg)});`;
  await context.addInitScript({ content });
}

/**
 * A phone-sized listener context with the page instrumentation. `bypassCSP`:
 * for instrumentation that loads a worklet from a blob: URL, which the page's
 * script-src does not allow (watchFirstAudio).
 */
export async function listenerContext(browser: Browser, baseURL: string, options: { bypassCSP?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: options.bypassCSP ?? false });
  await addInitScript(context, instrumentPage);
  return context;
}

/**
 * Keeps the browser's audio service up, as a phone's audio system is: a page
 * of its own holds one AudioContext. Chromium starts its audio service with
 * the first AudioContext in the browser (~0.3 s here) and stops it when no
 * page uses audio; without this, every fresh listener context of a benchmark
 * would pay that start (a phone does not). Returns the close function.
 */
export async function keepAudioServiceUp(browser: Browser): Promise<() => Promise<void>> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.evaluate(async () => {
    const ctx = new AudioContext();
    await ctx.resume();
    (window as unknown as { keep: AudioContext }).keep = ctx;
  });
  return () => context.close();
}

/** inbound-rtp audio packetsReceived over the page's open peer connections. */
export async function inboundPackets(page: Page): Promise<number> {
  return page.evaluate(async () => {
    let total = 0;
    for (const pc of window.__earshotPeers ?? []) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === "inbound-rtp" && r.kind === "audio") total += r.packetsReceived ?? 0;
      });
    }
    return total;
  });
}

/** Nearest-rank percentile of a sample (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
