import { expect, test } from "@playwright/test";
import { closeAll, createSession, expectHearing, goLive, openListener, pressListen, speakerPeers, speakerSignedInContext } from "./support/earshot";

/**
 * The speaker's page reloads (a new page: new microphone, new master, no peer
 * connections). Listeners learn it from the control channel (broadcastStopped,
 * then broadcastStarted) and offer again; nobody reloads or waits on a timer.
 */
test("listeners reconnect on their own when the speaker reloads and goes live again", async ({ browser }) => {
  const speaker = await speakerSignedInContext(browser);
  const sp = speaker.page;
  const listener = await openListener(browser, await createSession(sp, "E2E reload", "en"), "en", "listener");
  try {
    await goLive(sp);
    await pressListen(listener);
    await expectHearing(listener);
    await expect(sp.getByTestId("peer-count")).toHaveText("1");

    await sp.reload();
    // The reloaded page re-attaches to its session, off air until the speaker goes live again.
    await expect(sp.getByTestId("broadcast-state")).toHaveAttribute("data-state", "off-air");
    await expect(listener.page.getByTestId("listener-state")).toHaveAttribute("data-state", /waiting|reconnecting/);

    await goLive(sp);
    await expectHearing(listener);
    await expect(sp.getByTestId("peer-count")).toHaveText("1");
    expect((await speakerPeers(sp)).connected).toBe(1);
  } finally {
    await closeAll(speaker.context, listener.context);
  }
});
