import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { languageDistribution, type ConnectionItem } from "../../lib/core/schema";
import { TestClient, createSession, joinAsListener, startTestRuntime } from "./harness";

/**
 * A count write (the atomic ADD on the session) that fails after the
 * connection row moved: the row change is undone, so the error the client
 * gets and what is stored agree. The failure is injected at the store's count
 * write, as a socket hang-up from the DynamoDB endpoint would make it fail.
 *
 * Listeners may only pick a language the session offers: the sessions here are
 * English with the targets the local engines serve (Apertium es/ca/gl/eo).
 */

const TARGETS = ["es", "ca", "gl", "eo"];

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

function failNextCountWrite(): void {
  const hangUp = Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
  vi.spyOn(runtime.services.store, "adjustCounts").mockRejectedValueOnce(hangUp);
}

async function counts(sessionId: string) {
  const session = await runtime.services.store.getSession(sessionId, true);
  return { total: session?.listenerCount, languages: session ? languageDistribution(session) : undefined };
}

/** The session's one listener row. */
async function listenerRow(sessionId: string): Promise<ConnectionItem> {
  const rows = (await runtime.services.store.listSessionConnections(sessionId)).filter((c) => c.role === "listener");
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe("a failed count write", () => {
  it("on joinSession: INTERNAL_ERROR, the row is not joined (nor its speech flag set), nothing counted; a retry then joins", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const listener = await TestClient.connect(runtime, { sessionId, targetLanguage: "es" });
    failNextCountWrite();
    expect(await listener.request({ action: "joinSession", sessionId, targetLanguage: "es", speech: false })).toMatchObject({
      type: "error",
      code: "INTERNAL_ERROR",
    });
    const row = await listenerRow(sessionId);
    expect(row.joinedLanguage).toBeUndefined();
    expect(row.speech).toBeUndefined();
    expect(await counts(sessionId)).toEqual({ total: 0, languages: {} });

    expect(await listener.request({ action: "joinSession", sessionId, targetLanguage: "es" })).toMatchObject({ type: "sessionJoined", listenerCount: 1 });
    expect(await counts(sessionId)).toEqual({ total: 1, languages: { es: 1 } });
    await Promise.all([listener.close(), speaker.close()]);
  });

  it("on changeLanguage: INTERNAL_ERROR, the row keeps its old language and speech flag, the counts their old language", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const listener = await joinAsListener(runtime, sessionId, "ca");
    failNextCountWrite();
    expect(await listener.request({ action: "changeLanguage", targetLanguage: "es", speech: false })).toMatchObject({ type: "error", code: "INTERNAL_ERROR" });
    const row = await listenerRow(sessionId);
    // Still counted in Catalan, and still sent Catalan speech (the refused change asked for captions only).
    expect(row).toMatchObject({ joinedLanguage: "ca", targetLanguage: "ca", speech: true });
    expect(await counts(sessionId)).toEqual({ total: 1, languages: { ca: 1 } });

    // When it then leaves, the departure takes the language it is counted in: no drift.
    await listener.close();
    await expect.poll(async () => (await counts(sessionId)).total, { timeout: 10_000 }).toBe(0);
    expect((await counts(sessionId)).languages).toEqual({});
    await speaker.close();
  });

  it("on leaveSession: INTERNAL_ERROR, the listener is still joined and counted", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const listener = await joinAsListener(runtime, sessionId, "gl", { speech: false });
    failNextCountWrite();
    expect(await listener.request({ action: "leaveSession" })).toMatchObject({ type: "error", code: "INTERNAL_ERROR" });
    const row = await listenerRow(sessionId);
    expect(row).toMatchObject({ joinedLanguage: "gl", speech: false });
    expect(await counts(sessionId)).toEqual({ total: 1, languages: { gl: 1 } });

    expect(await listener.request({ action: "leaveSession" })).toMatchObject({ type: "sessionLeft" });
    expect(await counts(sessionId)).toEqual({ total: 0, languages: {} });
    await Promise.all([listener.close(), speaker.close()]);
  });

  it("on $disconnect: the row is put back, and the next sweep un-counts it", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const listener = await joinAsListener(runtime, sessionId, "eo");
    const row = await listenerRow(sessionId);
    failNextCountWrite();
    await listener.close();
    // The gateway forgets a connection once its $disconnect has run.
    await vi.waitFor(() => expect(runtime.gateway.has(row.connectionId)).toBe(false), { timeout: 10_000 });
    expect(await runtime.services.store.getConnection(row.connectionId)).toMatchObject({ joinedLanguage: "eo" });
    expect(await counts(sessionId)).toEqual({ total: 1, languages: { eo: 1 } });

    await runtime.plane.sweep((c) => runtime.gateway.has(c.connectionId), { graceMs: 0, quietMs: 60_000 });
    expect(await runtime.services.store.getConnection(row.connectionId)).toBeUndefined();
    expect(await counts(sessionId)).toEqual({ total: 0, languages: {} });
    await speaker.close();
  });
});
