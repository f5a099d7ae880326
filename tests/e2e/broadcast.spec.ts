import { expect, test } from "@playwright/test";
import {
  closeAll,
  createSession,
  expectHearing,
  expectSilence,
  goLive,
  openListener,
  pressListen,
  speakerPeers,
  speakerSignedInContext,
  type Listener,
} from "./support/earshot";

/**
 * One speaker, three listeners in two languages, each in a browser context
 * of its own: everyone hears the speaker over WebRTC, the speaker sees the
 * counts, language changes move them, pause and mute reach the listeners
 * (and silence the audio), and ending the session closes everything.
 *
 * Listeners may pick only the languages the session offers (its source and
 * its target languages); a listener of a translated language hears the
 * speaker's own voice in the "original only" mode (the default there is the
 * translation alone, without WebRTC: tests/e2e/speech.spec.ts).
 */
test("a speaker goes live and three listeners in two languages hear them", async ({ browser }) => {
  const speaker = await speakerSignedInContext(browser);
  const sp = speaker.page;
  const listeners: Listener[] = [];
  try {
    const sessionId = await createSession(sp, "E2E keynote", "en", ["es", "ca"]);
    await goLive(sp);

    for (const [language, name] of [
      ["en", "listener-1 (en)"],
      ["en", "listener-2 (en)"],
      ["ca", "listener-3 (ca)"],
    ] as const) {
      const listener = await openListener(browser, sessionId, language, name);
      listeners.push(listener);
      if (language !== "en") await listener.page.getByTestId("mode-original").check();
      await pressListen(listener);
    }
    for (const listener of listeners) {
      await expect(listener.page.getByTestId("listener-state")).toHaveAttribute("data-state", "live");
      await expectHearing(listener);
    }

    // The speaker: three peer connections, three listeners, two in English and one in Catalan.
    await expect(sp.getByTestId("peer-count")).toHaveText("3");
    await expect(sp.getByTestId("listener-count-total")).toHaveText("3");
    await expect(sp.getByTestId("listener-count-en")).toHaveText("2");
    await expect(sp.getByTestId("listener-count-ca")).toHaveText("1");
    // One peer connection per listener, each sending Opus tuned for speech.
    const peers = await speakerPeers(sp);
    expect(peers.connected).toBe(3);
    expect(peers.sendFmtp).toHaveLength(3);
    for (const fmtp of peers.sendFmtp) {
      expect(fmtp).toContain("useinbandfec=1");
      expect(fmtp).toContain("usedtx=1");
      expect(fmtp).toContain("maxaveragebitrate=32000");
      expect(fmtp).toContain("stereo=0");
    }

    // A listener switches to Spanish, without a reload: the counts follow; in "original only" the audio goes on.
    const switching = listeners[1]!;
    await switching.page.getByTestId("language-select").selectOption("es");
    await expect(sp.getByTestId("listener-count-en")).toHaveText("1");
    await expect(sp.getByTestId("listener-count-es")).toHaveText("1");
    await expect(sp.getByTestId("listener-count-ca")).toHaveText("1");
    await expect(sp.getByTestId("listener-count-total")).toHaveText("3");
    await switching.page.getByTestId("mode-original").check();
    await expectHearing(switching);

    // Pause: every listener sees it, and the audio goes silent (the track is disabled).
    await sp.getByTestId("pause-button").click();
    for (const listener of listeners) {
      await expect(listener.page.getByTestId("listener-state")).toHaveAttribute("data-state", "paused");
      await expectSilence(listener);
    }
    await sp.getByTestId("resume-button").click();
    for (const listener of listeners) {
      await expect(listener.page.getByTestId("listener-state")).toHaveAttribute("data-state", "live");
      await expectHearing(listener);
    }

    // Mute works the same way, with its own state.
    await sp.getByTestId("mute-button").click();
    for (const listener of listeners) {
      await expect(listener.page.getByTestId("listener-state")).toHaveAttribute("data-state", "muted");
      await expectSilence(listener);
    }
    await sp.getByTestId("unmute-button").click();
    await expectHearing(listeners[0]!);

    // End: the listeners see it and their peer connections are closed; the speaker has none left.
    await sp.getByTestId("end-session-button").click();
    await sp.getByTestId("confirm-end-session-dialog").click();
    await expect(sp.getByTestId("session-ended")).toBeVisible();
    for (const listener of listeners) {
      await expect(listener.page.getByTestId("listener-state")).toHaveAttribute("data-state", "ended");
      await expect(listener.page.getByTestId("session-ended")).toBeVisible();
      await expect(listener.page.getByTestId("audio-player")).toHaveCount(0);
      await expect
        .poll(() => listener.page.evaluate(() => (window.__earshotPeers ?? []).map((pc) => pc.connectionState)), {
          message: `${listener.name}: every peer connection closed`,
        })
        .toEqual(expect.arrayContaining(["closed"]));
      const states = await listener.page.evaluate(() => (window.__earshotPeers ?? []).map((pc) => pc.connectionState));
      expect(states.every((s) => s === "closed"), `${listener.name}: ${states.join(",")}`).toBe(true);
    }
  } finally {
    await closeAll(speaker.context, ...listeners.map((l) => l.context));
  }
});

/**
 * The listener page joins and connects the audio while the person reads it
 * (EARSHOT_CONNECT_AHEAD_SECONDS, 60 s by default): the speaker counts them
 * and sends to them, yet nothing plays until the Listen tap, which then
 * plays what is already connected (no second join, no new peer connection).
 * The time limit on an untapped page is in tests/unit/listener-session.test.ts.
 */
test("the page connects the audio before the tap, silent; the tap plays it without joining again", async ({ browser }) => {
  const speaker = await speakerSignedInContext(browser);
  const sp = speaker.page;
  let listener: Listener | undefined;
  try {
    const sessionId = await createSession(sp, "E2E connect ahead", "en", ["es"]);
    await goLive(sp);
    listener = await openListener(browser, sessionId, "en", "listener (en)");
    const page = listener.page;
    const playing = () =>
      page.evaluate(() => {
        const el = document.querySelector<HTMLAudioElement>("audio[data-earshot-playback]");
        return el !== null && el.srcObject !== null && !el.paused;
      });
    const packets = () =>
      page.evaluate(async () => {
        let n = 0;
        for (const pc of window.__earshotPeers ?? []) {
          (await pc.getStats()).forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
            if (r.type === "inbound-rtp" && r.kind === "audio") n += r.packetsReceived ?? 0;
          });
        }
        return n;
      });

    // Before the tap: counted and connected, the audio arriving, nothing playing.
    await expect(sp.getByTestId("listener-count-total")).toHaveText("1");
    await expect(sp.getByTestId("peer-count")).toHaveText("1");
    await expect.poll(packets, { message: "audio packets arrive before the tap" }).toBeGreaterThan(50);
    expect(await playing()).toBe(false);
    await expect(page.getByTestId("listener-state")).toHaveAttribute("data-state", "idle");
    await expect(page.getByTestId("listen-button")).toBeVisible();

    await pressListen(listener);
    await expect(page.getByTestId("listener-state")).toHaveAttribute("data-state", "live");
    await expectHearing(listener);
    expect(await playing()).toBe(true);
    // The same join and the same peer connection.
    await expect(sp.getByTestId("listener-count-total")).toHaveText("1");
    await expect(sp.getByTestId("peer-count")).toHaveText("1");
    expect(await page.evaluate(() => (window.__earshotPeers ?? []).length)).toBe(1);
    const joins = await page.evaluate(() => performance.getEntriesByName("earshot:joined").length);
    expect(joins).toBe(1);
  } finally {
    await closeAll(speaker.context, ...(listener ? [listener.context] : []));
  }
});
