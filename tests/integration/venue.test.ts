import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { startEmbedded, type EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { lookupPublicSession } from "../../lib/server/http/public-session";
import { isEarshotError } from "../../lib/core/errors";
import { languageDistribution } from "../../lib/core/schema";
import { TestClient, createSession, refusal, withinOneRateWindow } from "./harness";

/**
 * A venue: the whole audience behind one address (here 127.0.0.1), under the
 * default limits (none of the harness's raised ones). Every listener does what
 * the join page does: looks the session up, connects, joins.
 */

/** The embedded runtime with every limit at its default. */
function startWithDefaultLimits(): Promise<EmbeddedRuntime> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("EARSHOT_LIMIT_")) delete env[key];
  return startEmbedded({
    web: "none",
    env: { ...env, NODE_ENV: "test", EARSHOT_DATA: "memory", PORT: "0", HOST: "127.0.0.1", EARSHOT_LOG_LEVEL: "error" },
  });
}

/** The outcome of a lookup as the join page sees it: "found", or the error code. */
async function lookupOutcome(runtime: EmbeddedRuntime, sessionId: string, ip: string): Promise<string> {
  try {
    await lookupPublicSession(runtime.services, sessionId, ip);
    return "found";
  } catch (error) {
    if (isEarshotError(error)) return error.code;
    throw error;
  }
}

function tally(values: readonly (string | number)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Unknown but well-formed codes (digits 100-999 never collide with a created session's by chance here: they are checked). */
function unknownCodes(n: number, known: string): string[] {
  return Array.from({ length: n }, (_, i) => `quiet-harbor-${String(100 + i).padStart(3, "0")}`).filter((c) => c !== known);
}

describe("a full room behind one address, default limits", () => {
  let runtime: EmbeddedRuntime;
  beforeAll(async () => {
    runtime = await startWithDefaultLimits();
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it("1,000 listeners from 127.0.0.1 look the session up, connect and join; the counts are exact", async () => {
    expect(runtime.config.limits).toMatchObject({ connectsPerMinute: 3000, lookupsPerMinute: 3000, failedLookupsPerMinute: 20 });
    // 1,000 lookups and connects fit under 3,000 however they fall across minute windows: no window alignment needed.
    // Listeners pick the source language or one the session offers (targets the local engines serve).
    const { sessionId, speaker } = await createSession(runtime, { sourceLanguage: "en", targetLanguages: ["es", "ca", "gl"] });
    const languages = ["en", "es", "ca", "gl"] as const;
    const started = Date.now();
    const joinedAt: number[] = [];
    const listeners = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const targetLanguage = languages[i % languages.length];
        expect(await lookupOutcome(runtime, sessionId, "127.0.0.1")).toBe("found");
        const client = await TestClient.connect(runtime, { sessionId, targetLanguage });
        const joined = await client.request({ action: "joinSession", sessionId, targetLanguage, clientKey: randomUUID() });
        expect(joined).toMatchObject({ type: "sessionJoined", sessionId });
        joinedAt.push(Date.now() - started);
        return client;
      }),
    );
    const elapsed = Date.now() - started;
    console.log(`[venue] 1,000 listeners from one IP joined in ${elapsed} ms (p50 ${joinedAt.sort((a, b) => a - b)[499]} ms)`);
    const session = await runtime.services.store.getSession(sessionId, true);
    expect(session?.listenerCount).toBe(1000);
    expect(languageDistribution(session!)).toEqual({ en: 250, es: 250, ca: 250, gl: 250 });
    expect(runtime.gateway.size).toBe(1001);

    await Promise.all(listeners.map((l) => l.close()));
    await speaker.close();
    // $disconnect runs after each close: wait for the store to agree.
    await expect.poll(async () => (await runtime.services.store.getSession(sessionId, true))?.listenerCount, { timeout: 30_000 }).toBe(0);
  }, 120_000);
});

describe("the failed-lookup budget under a burst", () => {
  it("60 parallel guesses from one address get 20 answers; then a right guess is refused too", async () => {
    const runtime = await startWithDefaultLimits();
    try {
      await withinOneRateWindow();
      const { sessionId, speaker } = await createSession(runtime);
      const guesses = unknownCodes(60, sessionId).slice(0, 60);
      const outcomes = await Promise.all(guesses.map((code) => lookupOutcome(runtime, code, "198.51.100.7")));
      expect(tally(outcomes)).toEqual({ SESSION_NOT_FOUND: 20, RATE_LIMIT_EXCEEDED: guesses.length - 20 });
      expect(await lookupOutcome(runtime, sessionId, "198.51.100.7")).toBe("RATE_LIMIT_EXCEEDED");
      // Another address is not affected.
      expect(await lookupOutcome(runtime, sessionId, "198.51.100.8")).toBe("found");
      await speaker.close();
    } finally {
      await runtime.close();
    }
  });

  it("100 parallel connects with unknown codes get 20 answers (404); then the right code is refused (429)", async () => {
    const runtime = await startWithDefaultLimits();
    try {
      await withinOneRateWindow();
      const { sessionId, speaker } = await createSession(runtime);
      const guesses = unknownCodes(101, sessionId).slice(0, 100);
      const statuses = await Promise.all(guesses.map((code) => refusal(runtime, { sessionId: code }).then((r) => r.status)));
      expect(tally(statuses)).toEqual({ 404: 20, 429: 80 });
      expect(await refusal(runtime, { sessionId, targetLanguage: "en" })).toMatchObject({ status: 429, body: { error: { code: "RATE_LIMIT_EXCEEDED" } } });
      await speaker.close();
    } finally {
      await runtime.close();
    }
  });
});

describe("connections that never join", () => {
  it("are closed (1008) and removed by the sweep once past the grace period; joined listeners are untouched", async () => {
    const runtime = await startWithDefaultLimits();
    try {
      const { sessionId, speaker } = await createSession(runtime);
      const joined = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
      expect(await joined.request({ action: "joinSession", sessionId, targetLanguage: "en" })).toMatchObject({ type: "sessionJoined" });
      const holders = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(runtime, { sessionId, targetLanguage: "en" })));

      const report = await runtime.plane.sweep((c) => runtime.gateway.has(c.connectionId), { graceMs: 0, quietMs: 60_000 });
      expect(report).toMatchObject({ unjoined: 5, removed: 0 });
      for (const h of holders) expect(await h.closed).toMatchObject({ code: 1008 });
      expect(joined.ws.readyState).toBe(joined.ws.OPEN);
      expect((await runtime.services.store.getSession(sessionId, true))?.listenerCount).toBe(1);
      expect((await runtime.services.store.listSessionConnections(sessionId)).filter((c) => c.role === "listener")).toHaveLength(1);
      await Promise.all([joined.close(), speaker.close()]);
    } finally {
      await runtime.close();
    }
  });
});
