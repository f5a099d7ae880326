import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { generateKeyPairPem, TokenSigner } from "../../lib/server/tokens";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { SESSION_ID_PATTERN } from "../../lib/core/session-id";
import {
  TestClient,
  algNoneToken,
  createSession,
  expiredToken,
  joinAsListener,
  refusal,
  speakerToken,
  startTestRuntime,
  withinOneRateWindow,
} from "./harness";

let runtime: EmbeddedRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.close();
});

/** Listeners may pick only a language the session offers: these sessions translate into what Apertium serves. */
const TARGETS = ["es", "ca", "gl", "eo"];

async function sessionRow(sessionId: string) {
  const s = await runtime.services.store.getSession(sessionId, true);
  if (!s) throw new Error("no session");
  return s;
}

describe("creating a session", () => {
  it("gives a signed-in speaker a readable id, a join URL and an active, not yet live, session", async () => {
    const { created, speaker } = await createSession(runtime, { title: "All hands", sourceLanguage: "de" });
    if (created.type !== "sessionCreated") throw new Error();
    expect(created.sessionId).toMatch(SESSION_ID_PATTERN);
    expect(created.joinUrl).toBe(`${runtime.url}/join/${created.sessionId}`);
    expect(created.title).toBe("All hands");
    expect(created.sourceLanguage).toBe("de");
    expect(created.broadcastState).toEqual({ status: "active", muted: false, live: false });
    const row = await sessionRow(created.sessionId);
    expect(row.listenerCount).toBe(0);
    expect(row.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3600);
    await speaker.close();
  });

  it("refuses createSession from a listener and with a bad source language", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const listener = await TestClient.connect(runtime, { sessionId, targetLanguage: "fr" });
    const denied = await listener.request({ action: "createSession", sourceLanguage: "en" });
    expect(denied).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION", action: "createSession" });

    const token = await speakerToken(runtime, "speaker-lang");
    const other = await TestClient.connect(runtime, { token });
    expect(await other.request({ action: "createSession", sourceLanguage: "xx" })).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    expect(await other.request({ action: "createSession" })).toMatchObject({ type: "error", code: "MISSING_PARAMETER" });
    await Promise.all([listener.close(), other.close(), speaker.close()]);
  });
});

describe("$connect", () => {
  it("lets a listener without a token join an active session (the note's regression)", async () => {
    const { sessionId, speaker } = await createSession(runtime, { sourceLanguage: "en", targetLanguages: TARGETS });
    const listener = await TestClient.connect(runtime, { sessionId, targetLanguage: "es" });
    const joined = await listener.request({ action: "joinSession", sessionId, targetLanguage: "es" });
    expect(joined).toMatchObject({ type: "sessionJoined", sessionId, role: "listener", targetLanguage: "es", sourceLanguage: "en", listenerCount: 1 });
    await Promise.all([listener.close(), speaker.close()]);
  });

  it("refuses missing, malformed, unknown and ended sessions with their statuses", async () => {
    expect(await refusal(runtime, {})).toMatchObject({ status: 400, body: { error: { code: "INVALID_SESSION_ID" } } });
    expect(await refusal(runtime, { sessionId: "DROP TABLE" })).toMatchObject({ status: 400, body: { error: { code: "INVALID_SESSION_ID" } } });
    expect(await refusal(runtime, { sessionId: "quiet-harbor-00" })).toMatchObject({ status: 400 });
    expect(await refusal(runtime, { sessionId: "quiet-harbor-000" })).toMatchObject({ status: 404, body: { error: { code: "SESSION_NOT_FOUND" } } });

    const { sessionId, speaker } = await createSession(runtime);
    expect(await speaker.request({ action: "endSession" })).toMatchObject({ type: "sessionEnded", sessionId });
    expect(await refusal(runtime, { sessionId, targetLanguage: "en" })).toMatchObject({ status: 403, body: { error: { code: "SESSION_INACTIVE" } } });
    await speaker.close();
  });

  it("refuses an unsupported language", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    expect(await refusal(runtime, { sessionId, targetLanguage: "klingon" })).toMatchObject({ status: 400, body: { error: { code: "UNSUPPORTED_LANGUAGE" } } });
    await speaker.close();
  });

  it("rejects invalid, expired, forged and alg-none tokens with 401, never as a listener", async () => {
    const { sessionId, speaker } = await createSession(runtime, { speakerId: "speaker-1" });
    const otherKeys = await generateKeyPairPem();
    const forger = await TokenSigner.fromPem(otherKeys.privateKey, runtime.config.tokens.issuer);
    const forged = (await forger.speakerToken({ speakerId: "speaker-1" })).token;
    const valid = await speakerToken(runtime, "speaker-1");
    const tampered = valid.slice(0, -4) + (valid.endsWith("AAAA") ? "BBBB" : "AAAA");
    const bad = {
      garbage: "not-a-jwt",
      expired: await expiredToken(runtime, "speaker-1"),
      forged,
      algNone: algNoneToken(runtime, "speaker-1"),
      tampered,
    };
    for (const [kind, token] of Object.entries(bad)) {
      const r = await refusal(runtime, { sessionId, targetLanguage: "en", token });
      expect({ kind, status: r.status, code: r.body.error?.code }).toEqual({ kind, status: 401, code: "UNAUTHORIZED" });
    }
    expect((await refusal(runtime, { token: "x" })).status).toBe(401);
    expect((await sessionRow(sessionId)).listenerCount).toBe(0);
    await speaker.close();
  });

  it("gives the session's speaker the speaker role and another speaker's valid token the listener role", async () => {
    const { sessionId, speaker, token } = await createSession(runtime, { speakerId: "owner" });
    const again = await TestClient.connect(runtime, { sessionId, token });
    expect(await again.request({ action: "pauseBroadcast" })).toMatchObject({ type: "broadcastPaused" });
    const stranger = await TestClient.connect(runtime, { sessionId, targetLanguage: "en", token: await speakerToken(runtime, "stranger") });
    expect(await stranger.request({ action: "resumeBroadcast" })).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION" });
    expect(await stranger.request({ action: "joinSession", sessionId, targetLanguage: "en" })).toMatchObject({ type: "sessionJoined", role: "listener" });
    await Promise.all([again.close(), stranger.close(), speaker.close()]);
  });
});

describe("listeners", () => {
  it("cannot pause, mute or end a session, and nothing changes", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const listener = await joinAsListener(runtime, sessionId, "en");
    for (const action of ["pauseBroadcast", "resumeBroadcast", "muteBroadcast", "unmuteBroadcast", "endSession", "startBroadcast"]) {
      expect(await listener.request({ action })).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION", action });
    }
    const row = await sessionRow(sessionId);
    expect({ status: row.status, muted: row.muted, live: row.live, listenerCount: row.listenerCount }).toEqual({ status: "active", muted: false, live: false, listenerCount: 1 });
    await Promise.all([listener.close(), speaker.close()]);
  });

  it("hear pause, resume, mute, unmute and go-live from the speaker", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const a = await joinAsListener(runtime, sessionId, "en");
    const b = await joinAsListener(runtime, sessionId, "ca");
    const steps = [
      ["startBroadcast", "broadcastStarted", { status: "active", muted: false, live: true }],
      ["pauseBroadcast", "broadcastPaused", { status: "paused", muted: false, live: true }],
      ["resumeBroadcast", "broadcastResumed", { status: "active", muted: false, live: true }],
      ["muteBroadcast", "broadcastMuted", { status: "active", muted: true, live: true }],
      ["unmuteBroadcast", "broadcastUnmuted", { status: "active", muted: false, live: true }],
    ] as const;
    for (const [action, type, state] of steps) {
      expect(await speaker.request({ action })).toMatchObject({ type, broadcastState: state });
      for (const l of [a, b]) expect((await l.next(type)).broadcastState).toEqual(state);
    }
    await Promise.all([a.close(), b.close(), speaker.close()]);
  });

  it("change language and the counts follow", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const a = await joinAsListener(runtime, sessionId, "en");
    await joinAsListener(runtime, sessionId, "en");
    expect(await a.request({ action: "changeLanguage", targetLanguage: "gl" })).toMatchObject({ type: "languageChanged", targetLanguage: "gl", previousLanguage: "en", speech: true });
    const status = await speaker.request({ action: "getSessionStatus" });
    expect(status).toMatchObject({ type: "sessionStatus", listenerCount: 2, languageDistribution: { en: 1, gl: 1 }, originalListeners: 0 });
    // The same language with speech off (a listener switching to the original): no count moves.
    expect(await a.request({ action: "changeLanguage", targetLanguage: "gl", speech: false })).toMatchObject({ type: "languageChanged", targetLanguage: "gl", previousLanguage: "gl", speech: false });
    // A language the session does not offer is refused, and nothing moves.
    expect(await a.request({ action: "changeLanguage", targetLanguage: "ja" })).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    expect(await a.request({ action: "changeLanguage", targetLanguage: "zz" })).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    const fresh = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    expect(await fresh.request({ action: "changeLanguage", targetLanguage: "de" })).toMatchObject({ type: "error", code: "INVALID_ACTION" });
    expect((await sessionRow(sessionId)).listenerCount).toBe(2);
    await Promise.all([a.close(), fresh.close(), speaker.close()]);
  });

  it("are counted once however often they join, leave or drop", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const l = await joinAsListener(runtime, sessionId, "en");
    await l.request({ action: "joinSession", sessionId, targetLanguage: "en" });
    await l.request({ action: "joinSession", sessionId, targetLanguage: "eo" });
    expect((await sessionRow(sessionId)).listenerCount).toBe(1);
    expect(await l.request({ action: "leaveSession" })).toMatchObject({ type: "sessionLeft" });
    expect(await l.request({ action: "leaveSession" })).toMatchObject({ type: "sessionLeft" });
    const row = await sessionRow(sessionId);
    expect([row.listenerCount, row.count_eo]).toEqual([0, 0]);
    speaker.clear();
    await l.request({ action: "joinSession", sessionId, targetLanguage: "en" });
    // Pushes are coalesced and in order: once one says 1, none from before the rejoin is still coming.
    await speaker.next("sessionStatus", (m) => m.listenerCount === 1);
    speaker.clear();
    await l.close();
    // $disconnect ran: the speaker's pushed status shows it, then nothing moves further.
    await speaker.next("sessionStatus", (m) => m.listenerCount === 0 && !m.languageDistribution.en);
    expect((await sessionRow(sessionId)).listenerCount).toBe(0);
    await speaker.close();
  });
});

describe("reconnecting listeners", () => {
  it("replace their old connection by clientKey: counted once, the old socket closed", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const clientKey = "k".repeat(8) + Math.random().toString(36).slice(2, 14);
    const first = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    expect(await first.request({ action: "joinSession", sessionId, targetLanguage: "en", clientKey })).toMatchObject({ listenerCount: 1 });
    // The network changed: a new connection while the old one still looks open to the server.
    const second = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    expect(await second.request({ action: "joinSession", sessionId, targetLanguage: "es", clientKey })).toMatchObject({ type: "sessionJoined", listenerCount: 1 });
    expect((await first.closed).code).toBe(4000);
    const status = await speaker.request({ action: "getSessionStatus" });
    expect(status).toMatchObject({ listenerCount: 1, languageDistribution: { es: 1 } });
    // Another client's key is another listener.
    const other = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    expect(await other.request({ action: "joinSession", sessionId, targetLanguage: "en", clientKey: "another-client-key-123" })).toMatchObject({ listenerCount: 2 });
    expect(await other.request({ action: "joinSession", sessionId, targetLanguage: "en", clientKey: "short" })).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    const resumeRows = async () => {
      const out = await runtime.services.store.doc.send(new ScanCommand({ TableName: runtime.services.store.tables.resumes }));
      return (out.Items ?? []).filter((i) => String(i.resumeKey).startsWith(`${sessionId}#`)).length;
    };
    expect(await resumeRows()).toBe(2);
    await Promise.all([second.close(), other.close(), speaker.close()]);
    // A key is kept only while its connection lives (the embedded store has no TTL to clean up after).
    await vi.waitFor(async () => expect(await resumeRows()).toBe(0), { timeout: 10_000 });
  });
});

describe("counts under load", () => {
  it("stay exact after 200 concurrent joins and 100 leaves, per language too", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const languages = ["en", "eo", "ca", "es"] as const;
    const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => joinAsListener(runtime, sessionId, languages[i % 4]!)));
    await speaker.next("sessionStatus", (m) => m.listenerCount === 200);
    speaker.clear(); // pushes from the way up (one may have said 100) are not the answer below
    expect(await speaker.request({ action: "getSessionStatus" })).toMatchObject({ listenerCount: 200, languageDistribution: { en: 50, eo: 50, ca: 50, es: 50 } });

    // 100 leave: half by leaveSession, half by dropping the socket; every one of them is an "en" or "eo" listener.
    const leaving = clients.filter((_, i) => i % 4 < 2).slice(0, 100);
    await Promise.all(leaving.map((c, i) => (i % 2 ? c.close() : c.request({ action: "leaveSession" }))));
    const status = await speaker.next("sessionStatus", (m) => m.listenerCount === 100);
    expect(status.languageDistribution).toEqual({ ca: 50, es: 50 });
    const row = await sessionRow(sessionId);
    expect([row.listenerCount, row.count_en, row.count_eo, row.count_ca, row.count_es]).toEqual([100, 0, 0, 50, 50]);
    await Promise.all([...clients.map((c) => c.close()), speaker.close()]);
  });
});

describe("ending", () => {
  it("tells every listener, closes their connections and refuses new joins", async () => {
    const { sessionId, speaker } = await createSession(runtime, { targetLanguages: TARGETS });
    const listeners = await Promise.all([joinAsListener(runtime, sessionId, "en"), joinAsListener(runtime, sessionId, "ca")]);
    expect(await speaker.request({ action: "endSession" })).toMatchObject({ type: "sessionEnded", sessionId, reason: "ended" });
    for (const l of listeners) {
      expect(await l.next("sessionEnded")).toMatchObject({ sessionId, reason: "ended" });
      expect((await l.closed).code).toBe(1000);
    }
    expect((await refusal(runtime, { sessionId, targetLanguage: "en" })).status).toBe(403);
    expect(await speaker.request({ action: "pauseBroadcast" })).toMatchObject({ type: "error", code: "SESSION_INACTIVE" });
    expect((await sessionRow(sessionId)).status).toBe("ended");
    await speaker.close();
  });
});

describe("bad input", () => {
  it("gets a coded error while the server keeps serving", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const l = await joinAsListener(runtime, sessionId, "en");
    l.send("{not json");
    expect(await l.next("error")).toMatchObject({ code: "INVALID_MESSAGE" });
    l.send("[1,2,3]");
    expect(await l.next("error")).toMatchObject({ code: "INVALID_MESSAGE" });
    l.send({ hello: "world" });
    expect(await l.next("error")).toMatchObject({ code: "MISSING_PARAMETER" });
    expect(await l.request({ action: "fly" })).toMatchObject({ type: "error", code: "INVALID_ACTION" });
    expect(await l.request({ action: "__proto__" })).toMatchObject({ type: "error", code: "INVALID_ACTION" });
    expect(await l.request({ action: "joinSession", sessionId: 42, targetLanguage: "en" })).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    expect(await l.request({ action: "joinSession", targetLanguage: "en" })).toMatchObject({ type: "error", code: "MISSING_PARAMETER" });
    expect(await l.request({ action: "heartbeat", padding: "x".repeat(40 * 1024) })).toMatchObject({ type: "error", code: "MESSAGE_TOO_LARGE" });
    // Over 128 KB, API Gateway closes the connection with 1009; so does the embedded gateway.
    const big = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    big.send({ action: "heartbeat", padding: "x".repeat(200 * 1024) });
    expect((await big.closed).code).toBe(1009);
    // Still serving, and nothing moved.
    expect(await l.request({ action: "heartbeat" })).toMatchObject({ type: "heartbeatAck" });
    expect((await sessionRow(sessionId)).listenerCount).toBe(1);
    await Promise.all([l.close(), speaker.close()]);
  });
});

describe("media channels", () => {
  it("shard listeners across signaling channels past the viewer cap and make the speaker master of each", async () => {
    const small = await startTestRuntime({ EARSHOT_VIEWERS_PER_CHANNEL: "2" });
    try {
      const { sessionId, speaker } = await createSession(small);
      const master = await speaker.request({ action: "getMediaChannel" });
      expect(master).toMatchObject({ type: "mediaChannel", role: "MASTER", signaling: { kind: "embedded" } });
      if (master.type !== "mediaChannel") throw new Error();
      expect(master.channels.map((c) => c.shard)).toEqual([0]);
      expect(master.channels[0]!.grant).toBeTruthy();

      const listeners = [];
      const shards: number[] = [];
      for (let i = 0; i < 5; i++) {
        const l = await joinAsListener(small, sessionId, "en");
        const m = await l.request({ action: "getMediaChannel" });
        if (m.type !== "mediaChannel") throw new Error(JSON.stringify(m));
        expect(m.role).toBe("VIEWER");
        shards.push(m.channels[0]!.shard);
        listeners.push(l);
      }
      expect(shards).toEqual([0, 0, 1, 1, 2]);
      // The speaker was pushed the grown channel list.
      await speaker.next("mediaChannel", (m) => m.channels.length === 3);
      // Asking again returns the same channel and client id.
      const again = await listeners[4]!.request({ action: "getMediaChannel" });
      const first = await listeners[4]!.request({ action: "getMediaChannel" });
      expect(again).toMatchObject({ channels: [{ shard: 2 }] });
      if (again.type === "mediaChannel" && first.type === "mediaChannel") expect(again.clientId).toBe(first.clientId);
      // A slot freed by a departing listener is reused.
      await listeners[0]!.close();
      await speaker.next("sessionStatus", (m) => m.listenerCount === 4);
      const late = await joinAsListener(small, sessionId, "en");
      expect(await late.request({ action: "getMediaChannel" })).toMatchObject({ channels: [{ shard: 0 }] });
      const row = await small.services.store.getSession(sessionId, true);
      expect([row?.viewers_0, row?.viewers_1, row?.viewers_2]).toEqual([2, 2, 1]);
      // Listeners holding media slots hear the original: the speaker's status counts them.
      expect(await speaker.request({ action: "getSessionStatus" })).toMatchObject({ type: "sessionStatus", listenerCount: 5, originalListeners: 5 });
      // Listeners who have not joined get no media.
      const lurker = await TestClient.connect(small, { sessionId, targetLanguage: "en" });
      expect(await lurker.request({ action: "getMediaChannel" })).toMatchObject({ type: "error", code: "INVALID_ACTION" });
    } finally {
      await small.close();
    }
  });
});

describe("connection lifetime", () => {
  it("ends like API Gateway's: closed with 1001 at the cap, and $disconnect un-counts the listener", async () => {
    const short = await startTestRuntime({ EARSHOT_WS_MAX_CONNECTION_SECONDS: "2" });
    try {
      const { sessionId, speaker } = await createSession(short);
      const l = await joinAsListener(short, sessionId, "en");
      expect(await l.closed).toMatchObject({ code: 1001, reason: "connection lifetime reached" });
      expect(await speaker.closed).toMatchObject({ code: 1001 });
      // $disconnect runs after the close; wait for its effect in the store.
      await vi.waitFor(async () => expect((await short.services.store.getSession(sessionId, true))?.listenerCount).toBe(0), { timeout: 15_000 });
    } finally {
      await short.close();
    }
  });
});

describe("rate limits", () => {
  it("refuse every lookup, a right guess too, once an IP has spent its failed-lookup budget", async () => {
    const guarded = await startTestRuntime({ EARSHOT_LIMIT_FAILED_LOOKUPS_PER_MINUTE: "3" });
    try {
      await withinOneRateWindow();
      const { sessionId, speaker } = await createSession(guarded);
      for (let i = 0; i < 3; i++) expect((await refusal(guarded, { sessionId: `quiet-harbor-00${i}` })).status).toBe(404);
      expect(await refusal(guarded, { sessionId: "quiet-harbor-009" })).toMatchObject({ status: 429, body: { error: { code: "RATE_LIMIT_EXCEEDED" } } });
      expect(await refusal(guarded, { sessionId, targetLanguage: "en" })).toMatchObject({ status: 429 });
      await speaker.close();
    } finally {
      await guarded.close();
    }
  });

  it("answer 429 with Retry-After past the connection limit per client IP", async () => {
    const limited = await startTestRuntime({ EARSHOT_LIMIT_CONNECTS_PER_MINUTE: "3" });
    try {
      await withinOneRateWindow();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await refusal(limited, { sessionId: "quiet-harbor-001" })).status);
      const limitedOut = await refusal(limited, { sessionId: "quiet-harbor-001" });
      expect(statuses).toEqual([404, 404, 404]);
      expect(limitedOut).toMatchObject({ status: 429, body: { error: { code: "RATE_LIMIT_EXCEEDED" } } });
      expect(Number(limitedOut.retryAfter)).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
