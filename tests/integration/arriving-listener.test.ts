import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { TestClient, createSession, startTestRuntime } from "./harness";

/**
 * A listener's connection row is written by `$connect`, before its socket is
 * open (the upgrade completes after it). A fan-out in that moment (here: the
 * speaker pausing, which tells every connection of the session) cannot reach
 * it; it must not be taken for gone and deleted, or the listener's join that
 * follows fails with "This connection is no longer registered". Seen as an
 * intermittent failure of recovery.test.ts on a loaded machine, where a
 * listener connected while the speaker's disconnect fanned out.
 *
 * The not-yet-open socket is simulated by the gateway's post answering false
 * (what it answers for a connection it does not hold) for that connection.
 */

let runtime: EmbeddedRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("a listener arriving during a fan-out", () => {
  it("keeps its row when a post cannot reach it yet, and joins", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const arriving = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    const [row] = (await runtime.services.store.listSessionConnections(sessionId)).filter((c) => c.role === "listener");
    expect(row).toBeDefined();
    const post = runtime.gateway.post.bind(runtime.gateway);
    vi.spyOn(runtime.gateway, "post").mockImplementation(async (id, message) => (id === row!.connectionId ? false : post(id, message)));

    expect(await speaker.request({ action: "pauseBroadcast" })).toMatchObject({ type: "broadcastPaused" });
    expect(await runtime.services.store.getConnection(row!.connectionId)).toBeDefined();

    vi.restoreAllMocks();
    expect(await arriving.request({ action: "joinSession", sessionId, targetLanguage: "en" })).toMatchObject({ type: "sessionJoined", listenerCount: 1 });
    await Promise.all([arriving.close(), speaker.close()]);
  });
});
