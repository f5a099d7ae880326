import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import WebSocket from "ws";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { CLIENT_ACTIONS, type ServerMessage } from "../../lib/core/protocol";
import { ERROR_CODES } from "../../lib/core/errors";
import { languageDistribution } from "../../lib/core/schema";
import { TestClient, createSession, joinAsListener, speakerToken, startTestRuntime, wsUrl } from "./harness";
import { setServices } from "../../lib/server/services";
import { GET as getSessionRoute } from "../../app/api/sessions/[sessionId]/route";
import type { NextRequest } from "next/server";

/**
 * Property-based hostile input: thousands of generated messages and
 * connection attempts. The server never crashes, always answers with a known
 * code, and no session's state or counts move.
 */

let runtime: EmbeddedRuntime;
let sessionId: string;
let speaker: TestClient;
let joined: TestClient;

beforeAll(async () => {
  runtime = await startTestRuntime();
  ({ sessionId, speaker } = await createSession(runtime, { speakerId: "owner" }));
  joined = await joinAsListener(runtime, sessionId, "en");
  expect(await speaker.request({ action: "startBroadcast" })).toMatchObject({ type: "broadcastStarted" });
});
afterAll(async () => {
  await runtime?.close();
});

async function snapshot() {
  const s = await runtime.services.store.getSession(sessionId, true);
  if (!s) throw new Error("session vanished");
  return { status: s.status, muted: s.muted, live: s.live, listenerCount: s.listenerCount, languages: languageDistribution(s), channelCount: s.channelCount };
}

const hostileKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "action", "requestId", "sessionId", "token");
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom("", " ", "\u0000", "\ud800", "😀".repeat(100), "quiet-harbor-042", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "${7*7}"),
  fc.constant("x".repeat(40_000)),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 5 }),
  fc.dictionary(hostileKey, fc.jsonValue(), { maxKeys: 3 }),
);
/** Listener-side messages that must all be refused (or change nothing): wrong role, wrong session, wrong types. */
const hostileMessage = fc.oneof(
  // Structured: a real action with hostile fields.
  fc.record(
    {
      action: fc.constantFrom(...CLIENT_ACTIONS.filter((a) => a !== "leaveSession")),
      sessionId: fc.oneof(hostileValue, fc.constantFrom("other-session-001", "quiet-harbor-042")),
      targetLanguage: fc.oneof(hostileValue, fc.constantFrom("xx", "EN", "en-US", "")),
      sourceLanguage: hostileValue,
      title: hostileValue,
      token: fc.oneof(hostileValue, fc.constant("eyJhbGciOiJub25lIn0.eyJzdWIiOiJvd25lciJ9.")),
      requestId: fc.oneof(fc.string({ maxLength: 64 }), hostileValue),
    },
    { requiredKeys: ["action"] },
  ).map((m) => JSON.stringify(m)),
  // Prototype pollution attempts as raw JSON text.
  fc.constantFrom(
    '{"action":"joinSession","__proto__":{"role":"speaker"},"sessionId":"x","targetLanguage":"en"}',
    '{"action":"pauseBroadcast","constructor":{"prototype":{"role":"speaker"}}}',
    '{"__proto__":{"action":"endSession"}}',
    '{"action":{"toString":"endSession"}}',
  ),
  // Anything at all.
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 300 }),
);

/** Sends raw text and resolves with the next message the server sends back. */
function exchange(client: TestClient, raw: string): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${raw.slice(0, 120)}`)), 5000);
    client.ws.once("message", (data) => (clearTimeout(timer), resolve(JSON.parse(String(data)) as ServerMessage)));
    client.ws.send(raw);
  });
}

const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));

describe("hostile control messages", () => {
  it("from a listener who has not joined: 1,000 generated messages, each answered, nothing changes", async () => {
    const before = await snapshot();
    const lurker = await TestClient.connect(runtime, { sessionId, targetLanguage: "en" });
    const types = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(hostileMessage, async (raw) => {
        const reply = await exchange(lurker, raw);
        types.set(reply.type === "error" ? reply.code : reply.type, (types.get(reply.type === "error" ? reply.code : reply.type) ?? 0) + 1);
        if (reply.type === "error") {
          expect(KNOWN_CODES.has(reply.code)).toBe(true);
          expect(typeof reply.message).toBe("string");
        } else {
          // The only successes open to a lurker change nothing.
          expect(["heartbeatAck", "sessionStatus", "sessionLeft"]).toContain(reply.type);
        }
      }),
      { numRuns: 1000 },
    );
    expect(await snapshot()).toEqual(before);
    // Still serving, and the joined listener and the speaker are unaffected.
    expect(await joined.request({ action: "heartbeat" })).toMatchObject({ type: "heartbeatAck" });
    expect(await speaker.request({ action: "getSessionStatus" })).toMatchObject({ listenerCount: before.listenerCount });
    expect(types.size).toBeGreaterThan(4); // the generator reached many different paths
    await lurker.close();
  });

  it("from a joined listener trying speaker actions and other sessions: refused, counts unchanged", async () => {
    const before = await snapshot();
    const speakerOnly = fc.record({
      action: fc.constantFrom("pauseBroadcast", "resumeBroadcast", "muteBroadcast", "unmuteBroadcast", "endSession", "startBroadcast", "stopBroadcast", "createSession"),
      sessionId: fc.constantFrom(sessionId, "other-session-001"),
      token: fc.option(fc.constant("not.a.token"), { nil: undefined }),
      sourceLanguage: fc.constant("en"),
    });
    await fc.assert(
      fc.asyncProperty(speakerOnly, async (m) => {
        const reply = await exchange(joined, JSON.stringify(m));
        expect(reply).toMatchObject({ type: "error" });
        if (reply.type === "error") expect(["UNAUTHORIZED_ACTION", "UNAUTHORIZED"]).toContain(reply.code);
      }),
      { numRuns: 200 },
    );
    expect(await snapshot()).toEqual(before);
  });

  it("from another speaker's valid token: a listener of this session, never its speaker", async () => {
    const before = await snapshot();
    const token = await speakerToken(runtime, "intruder");
    const intruder = await TestClient.connect(runtime, { sessionId, targetLanguage: "fr", token });
    for (const action of ["pauseBroadcast", "muteBroadcast", "endSession", "stopBroadcast"]) {
      expect(await intruder.request({ action })).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION" });
    }
    expect(await intruder.request({ action: "createSession", sourceLanguage: "en", token })).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION" });
    expect(await snapshot()).toEqual(before);
    await intruder.close();
  });
});

describe("hostile connection attempts", () => {
  it("get an HTTP status and a coded error, never an open socket or a crash", async () => {
    const before = await snapshot();
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom("sessionId", "targetLanguage", "token", "__proto__", "constructor"), fc.string({ maxLength: 10 })),
      fc.oneof(hostileString.filter((s) => s.length < 4000), fc.constantFrom(sessionId.toUpperCase(), "quiet-harbor-999")),
      { maxKeys: 4 },
    ).filter((q) => q.sessionId !== sessionId);
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const outcome = await new Promise<{ status: number; code?: string }>((resolve) => {
          const ws = new WebSocket(wsUrl(runtime, q));
          ws.once("open", () => (ws.close(), resolve({ status: 101 })));
          ws.once("unexpected-response", (_req, res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text || "{}") as { error?: { code?: string } }).error?.code }));
          });
          ws.once("error", () => undefined);
        });
        expect(outcome.status).toBeGreaterThanOrEqual(400);
        expect(outcome.status).toBeLessThan(500);
        expect(KNOWN_CODES.has(outcome.code ?? "")).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(await snapshot()).toEqual(before);
    expect(await joined.request({ action: "heartbeat" })).toMatchObject({ type: "heartbeatAck" });
  });

  it("with signaling grants used for the wrong role or channel are refused by the relay", async () => {
    const media = await joined.request({ action: "getMediaChannel" });
    if (media.type !== "mediaChannel") throw new Error(JSON.stringify(media));
    const viewer = media.channels[0]!;
    const relay = (params: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const url = new URL(`ws://127.0.0.1:${runtime.port}/kvs`);
        for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
        const ws = new WebSocket(url);
        ws.once("open", () => (ws.close(), resolve(101)));
        ws.once("unexpected-response", (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
        ws.once("error", () => undefined);
      });
    const otherArn = viewer.channelArn!.replace(sessionId, "other-session-001");
    // As master with a viewer grant; on another channel; as another client id.
    expect(await relay({ "X-Amz-ChannelARN": viewer.channelArn!, "X-Earshot-Grant": viewer.grant! })).toBeGreaterThanOrEqual(400);
    expect(await relay({ "X-Amz-ChannelARN": otherArn, "X-Amz-ClientId": media.clientId!, "X-Earshot-Grant": viewer.grant! })).toBeGreaterThanOrEqual(400);
    expect(await relay({ "X-Amz-ChannelARN": viewer.channelArn!, "X-Amz-ClientId": "someone-else", "X-Earshot-Grant": viewer.grant! })).toBeGreaterThanOrEqual(400);
    // Control-plane speaker tokens are not signaling grants.
    expect(await relay({ "X-Amz-ChannelARN": viewer.channelArn!, "X-Earshot-Grant": await speakerToken(runtime, "owner") })).toBeGreaterThanOrEqual(400);
    // The positive control: the grant as issued works.
    expect(await relay({ "X-Amz-ChannelARN": viewer.channelArn!, "X-Amz-ClientId": media.clientId!, "X-Earshot-Grant": viewer.grant! })).toBe(101);
  });
});

describe("hostile HTTP requests", () => {
  it("to GET /api/sessions/{id}: 500 generated ids and headers, each a 200/400/404 with a coded body, nothing changes", async () => {
    // The route handler itself, called as Next calls it, with this runtime's services.
    setServices(runtime.services);
    const before = await snapshot();
    const id = fc.oneof(hostileString, fc.constantFrom(sessionId, sessionId.toUpperCase(), ` ${sessionId} `, `${sessionId}/../x`, "%00", "quiet-harbor-999"));
    const headers = fc.dictionary(fc.constantFrom("x-forwarded-for", "x-earshot-client-ip", "x-real-ip", "cookie", "authorization"), fc.string({ maxLength: 200 }), { maxKeys: 3 });
    let hits = 0;
    await fc.assert(
      fc.asyncProperty(id, headers, async (raw, h) => {
        const safeHeaders = Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v)));
        const request = new Request("http://localhost/api/sessions/x", { headers: safeHeaders }) as unknown as NextRequest;
        const response = await getSessionRoute(request, { params: Promise.resolve({ sessionId: raw }) });
        expect([200, 400, 404]).toContain(response.status);
        expect(response.headers.get("cache-control")).toBe("no-store");
        const body = (await response.json()) as { error?: { code: string; message: string }; sessionId?: string; speakerId?: unknown };
        if (response.status === 200) {
          hits++;
          expect(body.sessionId).toBe(sessionId);
          expect(body).not.toHaveProperty("speakerId");
        } else {
          expect(KNOWN_CODES.has(body.error?.code ?? "")).toBe(true);
          expect(typeof body.error?.message).toBe("string");
        }
      }),
      { numRuns: 500 },
    );
    expect(hits).toBeGreaterThan(0); // the generator also found the real session
    expect(await snapshot()).toEqual(before);
    setServices(undefined);
  });
});
