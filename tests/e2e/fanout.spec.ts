import { expect, test } from "@playwright/test";
import { closeAll, createSession, goLive, inboundPackets, openListener, pressListen, speakerPeers, speakerSignedInContext, type Listener } from "./support/earshot";

/** Listeners in one session: more than one signaling channel's cap of 10 viewers. */
const LISTENERS = 12;
// Listeners pick among the languages the session offers: without target languages, its source only.
const LANGUAGES = ["en"] as const;

/**
 * Past one signaling channel: listener 11 opens a second shard, the speaker
 * becomes its master as well, and every listener receives audio.
 */
test(`${LISTENERS} listeners in one session all receive audio (two signaling shards)`, async ({ browser }) => {
  // Thirteen browser contexts with live audio on a 2-core machine: alone it takes ~1.5 min, after the rest of the
  // suite (the server busier) it has run past the default 2 min.
  test.setTimeout(240_000);
  const speaker = await speakerSignedInContext(browser);
  const sp = speaker.page;
  const listeners: Listener[] = [];
  try {
    const sessionId = await createSession(sp, "E2E fan-out", "en");
    await goLive(sp);

    // Open every page, then press Listen on all of them at once: they race each other, as in a room.
    for (let i = 0; i < LISTENERS; i++) {
      listeners.push(await openListener(browser, sessionId, LANGUAGES[i % LANGUAGES.length]!, `listener-${i + 1}`));
    }
    await Promise.all(listeners.map((l) => pressListen(l)));

    for (const listener of listeners) {
      await expect(listener.page.getByTestId("audio-player"), `${listener.name}: audio connection`).toHaveAttribute("data-state", "live", {
        timeout: 45_000,
      });
    }
    // Every one of them keeps receiving RTP audio.
    const before = await Promise.all(listeners.map((l) => inboundPackets(l.page)));
    for (const [i, listener] of listeners.entries()) {
      await expect.poll(() => inboundPackets(listener.page), { message: `${listener.name}: inbound packets keep arriving` }).toBeGreaterThan(before[i]!);
    }

    await expect(sp.getByTestId("peer-count")).toHaveText(String(LISTENERS));
    await expect(sp.getByTestId("listener-count-total")).toHaveText(String(LISTENERS));
    expect((await speakerPeers(sp)).connected).toBe(LISTENERS);
  } finally {
    await closeAll(speaker.context, ...listeners.map((l) => l.context));
  }
});
