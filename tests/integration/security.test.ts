/**
 * Regression tests for the security review (issue 12) that need the whole
 * embedded runtime: the control plane, the signaling relay and the store,
 * driven with real WebSockets. Each test replays an attack as reported.
 */
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import type { ServerMessage } from "../../lib/core/protocol";
import { createSession, joinAsListener, startTestRuntime, type TestClient } from "./harness";

let runtime: EmbeddedRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => {
  await runtime?.close();
});

type MediaChannel = Extract<ServerMessage, { type: "mediaChannel" }>;

async function media(client: TestClient): Promise<MediaChannel> {
  const m = await client.request({ action: "getMediaChannel" });
  if (m.type !== "mediaChannel") throw new Error(`getMediaChannel failed: ${JSON.stringify(m)}`);
  return m;
}

function relayUrl(m: MediaChannel): string {
  const channel = m.channels[0]!;
  const url = new URL(`ws://127.0.0.1:${runtime.port}/kvs`);
  url.searchParams.set("X-Amz-ChannelARN", channel.channelArn!);
  if (m.role === "VIEWER") url.searchParams.set("X-Amz-ClientId", m.clientId!);
  url.searchParams.set("X-Earshot-Grant", channel.grant!);
  return url.toString();
}

interface RelayConnection {
  ws: WebSocket;
  closed: Promise<number>;
}

/** Opens /kvs with a grant: resolves with the open socket, or rejects with the HTTP status of the refusal. */
function openRelay(m: MediaChannel): Promise<RelayConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relayUrl(m));
    const closed = new Promise<number>((done) => ws.on("close", (code) => done(code)));
    ws.once("open", () => resolve({ ws, closed }));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.once("error", reject);
  });
}

function statusOf(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 101,
    (error: { status?: number }) => error.status ?? 0,
  );
}

describe("security review, finding 3: one control connection holds at most one media slot", () => {
  it("leave -> join -> getMediaChannel eleven times on one socket leaves one relay slot held, and the next real listener gets in", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const attacker = await joinAsListener(runtime, sessionId, "en");
    const opened: RelayConnection[] = [];
    const grants: MediaChannel[] = [];
    for (let i = 0; i < 11; i++) {
      if (i > 0) {
        expect(await attacker.request({ action: "leaveSession" })).toMatchObject({ type: "sessionLeft" });
        expect(await attacker.request({ action: "joinSession", sessionId, targetLanguage: "en" })).toMatchObject({ type: "sessionJoined" });
      }
      const m = await media(attacker);
      expect(m.channels[0]!.shard).toBe(0);
      grants.push(m);
      opened.push(await openRelay(m));
    }
    // Every connection but the last was closed when its slot was given back (4003), and its grant opens nothing now.
    const codes = await Promise.all(opened.slice(0, -1).map((c) => c.closed));
    expect(codes).toEqual(Array(10).fill(4003));
    expect(runtime.relay.stats().viewers).toBe(1);
    for (const old of grants.slice(0, -1)) expect(await statusOf(openRelay(old))).toBe(403);

    // Before the fix the next real listener got CHANNEL_FULL from the relay: ten slots were held by one socket.
    const real = await joinAsListener(runtime, sessionId, "en");
    const realMedia = await media(real);
    expect(realMedia.channels[0]!.shard).toBe(0);
    const realConn = await openRelay(realMedia);
    expect(runtime.relay.stats().viewers).toBe(2);
    const row = await runtime.services.store.getSession(sessionId, true);
    expect(row?.listenerCount).toBe(2);
    expect(row?.viewers_0).toBe(2);

    await Promise.all([attacker.close(), real.close(), speaker.close()]);
    // Leaving by disconnecting gives the slots back too.
    expect(await realConn.closed).toBe(4003);
    expect(await opened.at(-1)!.closed).toBe(4003);
    expect(runtime.relay.stats().viewers).toBe(0);
  });

  it("releases the slot and closes the relay connection when the listener disconnects or is replaced by its clientKey", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const first = await joinAsListener(runtime, sessionId, "en");
    await first.request({ action: "joinSession", sessionId, targetLanguage: "en", clientKey: "tab-one-0123456789" });
    const m1 = await media(first);
    const conn1 = await openRelay(m1);
    // The same tab reconnects: the old control connection is replaced, and with it its media slot.
    const second = await joinAsListener(runtime, sessionId, "en");
    await second.request({ action: "joinSession", sessionId, targetLanguage: "en", clientKey: "tab-one-0123456789" });
    expect(await conn1.closed).toBe(4003);
    expect(await statusOf(openRelay(m1))).toBe(403);
    const m2 = await media(second);
    const conn2 = await openRelay(m2);
    await second.close();
    expect(await conn2.closed).toBe(4003);
    expect(await statusOf(openRelay(m2))).toBe(403);
    expect(runtime.relay.stats().viewers).toBe(0);
    await speaker.close();
  });

  it("after endSession closes every relay connection of the session and refuses its grants, the speaker's too", async () => {
    const { sessionId, speaker } = await createSession(runtime);
    const masterGrant = await media(speaker);
    const master = await openRelay(masterGrant);
    const listener = await joinAsListener(runtime, sessionId, "en");
    const viewerGrant = await media(listener);
    const viewer = await openRelay(viewerGrant);
    expect(await speaker.request({ action: "endSession" })).toMatchObject({ type: "sessionEnded" });
    expect(await master.closed).toBe(4003);
    expect(await viewer.closed).toBe(4003);
    expect(await statusOf(openRelay(masterGrant))).toBe(403);
    expect(await statusOf(openRelay(viewerGrant))).toBe(403);
    expect(runtime.relay.stats()).toEqual({ channels: 0, masters: 0, viewers: 0 });
    await speaker.close();
  });
});
