import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { DEMO_EMAIL, DEMO_PASSWORD } from "./env";
import { addInitScript, inboundPackets } from "./harness";
import { instrumentPage } from "./instrument";
import { TONE_HZ } from "./tone";

/**
 * Page helpers for the end-to-end tests. Every wait is on a real condition
 * (a visible state, a count, audio statistics moving), never on a timer.
 */

/**
 * RMS thresholds. The fake mic's tone peaks at 0.5 (RMS 0.35); the speaker's
 * noise suppression and gain control treat a steady tone as noise and settle
 * it near 0.04 at the listener. A paused or muted speaker sends digital silence (0).
 */
export const HEARING_LEVEL = 0.01;
export const SILENCE_LEVEL = 0.002;

export { inboundPackets };

// ---------------------------------------------------------------------------
// Speaker

export async function signInAsSpeaker(page: Page): Promise<void> {
  await page.goto("/speaker");
  // Not signed in: the speaker page sends us through the real sign-in form.
  await expect(page).toHaveURL(/\/signin/);
  await page.getByTestId("signin-email").fill(DEMO_EMAIL);
  await page.getByTestId("signin-password").fill(DEMO_PASSWORD);
  await page.getByTestId("signin-submit").click();
  await expect(page).toHaveURL(/\/speaker/);
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-state", "open");
}

/** Creates a session from the speaker page; `targets` are target languages to tick (each must be one the engines serve). */
export async function createSession(page: Page, title: string, sourceLanguage = "en", targets: readonly string[] = []): Promise<string> {
  await page.getByTestId("session-title-input").fill(title);
  await page.getByTestId("source-language-select").selectOption(sourceLanguage);
  for (const target of targets) await page.getByTestId(`target-language-${target}`).check();
  await page.getByTestId("create-session-button").click();
  const code = page.getByTestId("session-code");
  await expect(code).toHaveText(/^[a-z]+-[a-z]+-\d{3}$/);
  return (await code.textContent())!.trim();
}

export async function goLive(page: Page): Promise<void> {
  await page.getByTestId("go-live-button").click();
  await expect(page.getByTestId("live-audio")).toHaveAttribute("data-phase", "live");
  await expect(page.getByTestId("broadcast-state")).toHaveAttribute("data-state", "live");
  // The speaker's own mic meter moves: the fake microphone plays the tone.
  await expect.poll(() => levelOf(page, "mic-level"), { message: "speaker mic level" }).toBeGreaterThan(0.01);
}

export async function speakerSignedInContext(browser: Browser, baseURL?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ permissions: ["microphone"], ...(baseURL ? { baseURL } : {}) });
  await addInitScript(context, instrumentPage);
  const page = await context.newPage();
  await signInAsSpeaker(page);
  return { context, page };
}

// ---------------------------------------------------------------------------
// Listeners

export interface Listener {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** A listener in a context of its own (its own cookies and storage, as another phone). */
export async function openListener(browser: Browser, sessionId: string, language: string, name: string, baseURL?: string): Promise<Listener> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, ...(baseURL ? { baseURL } : {}) });
  await addInitScript(context, instrumentPage);
  const page = await context.newPage();
  await page.goto(`/join/${sessionId}?lang=${language}`);
  await expect(page.getByTestId("language-select")).toHaveValue(language);
  return { name, context, page };
}

export async function pressListen(listener: Listener): Promise<void> {
  await listener.page.getByTestId("listen-button").click();
}

/** The page's control-channel sockets (path /ws), oldest first: when each opened and closed, and with which code. */
export async function controlSockets(page: Page): Promise<{ openedAt?: number; closedAt?: number; closeCode?: number }[]> {
  return page.evaluate(() =>
    (window.__earshotSockets ?? [])
      .filter((s) => new URL(s.url).pathname === "/ws")
      .map(({ openedAt, closedAt, closeCode }) => ({ openedAt, closedAt, closeCode })),
  );
}

export async function levelOf(page: Page, testId: string): Promise<number> {
  return Number((await page.getByTestId(testId).getAttribute("data-level")) ?? "0");
}

/** The speaker's peer connections that are up, and the Opus parameters each sends with. */
export async function speakerPeers(page: Page): Promise<{ connected: number; sendFmtp: string[] }> {
  return page.evaluate(async () => {
    const live = (window.__earshotPeers ?? []).filter((pc) => pc.connectionState === "connected");
    const sendFmtp: string[] = [];
    for (const pc of live) {
      const stats = await pc.getStats();
      const codecs = new Map<string, string>();
      stats.forEach((r: { type: string; id: string; sdpFmtpLine?: string }) => {
        if (r.type === "codec") codecs.set(r.id, r.sdpFmtpLine ?? "");
      });
      stats.forEach((r: { type: string; kind?: string; codecId?: string }) => {
        if (r.type === "outbound-rtp" && r.kind === "audio" && r.codecId) sendFmtp.push(codecs.get(r.codecId) ?? "");
      });
    }
    return { connected: live.length, sendFmtp };
  });
}

export async function probe(page: Page): Promise<{ rms: number; peakHz: number } | null> {
  return page.evaluate(() => window.__earshotProbe?.() ?? null);
}

/**
 * The listener hears the speaker: the page says live, the app's level meter
 * (an AnalyserNode on the played stream) is above the threshold, the played
 * audio's dominant frequency is the tone's, and inbound RTP packets keep
 * arriving.
 */
export async function expectHearing(listener: Listener): Promise<void> {
  const { page, name } = listener;
  await expect(page.getByTestId("audio-player"), `${name}: audio connection`).toHaveAttribute("data-state", "live");
  await expect.poll(() => levelOf(page, "listener-level"), { message: `${name}: app level meter` }).toBeGreaterThan(HEARING_LEVEL);
  await expect
    .poll(async () => (await probe(page))?.peakHz ?? 0, { message: `${name}: dominant frequency of what plays` })
    .toBeGreaterThan(TONE_HZ - 25);
  expect((await probe(page))?.peakHz, `${name}: dominant frequency`).toBeLessThan(TONE_HZ + 25);
  const before = await inboundPackets(page);
  await expect.poll(() => inboundPackets(page), { message: `${name}: inbound packets keep arriving` }).toBeGreaterThan(before);
}

/** What plays is (near) silence: the speaker paused or muted. */
export async function expectSilence(listener: Listener): Promise<void> {
  await expect.poll(async () => (await probe(listener.page))?.rms ?? 0, { message: `${listener.name}: silence` }).toBeLessThan(SILENCE_LEVEL);
}

export async function closeAll(...contexts: BrowserContext[]): Promise<void> {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
}
