/**
 * Conformance of the embedded signaling relay with the KVS signaling protocol,
 * driven by the real KVS SDK SignalingClient (and raw `ws` clients for what the
 * SDK cannot send or cannot see: malformed frames, HTTP statuses, close codes).
 * Every wait is on an event; "nothing arrived" is shown by a later message
 * being the first one that arrives.
 */
import http from "node:http";
import { EventEmitter, once } from "node:events";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import { Role, SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SIGNALING_CLOSE_CODES, embeddedChannelArn } from "@/lib/core/signaling";
import type { Logger } from "@/lib/server/control/ports";
import {
  createSignalingRelay,
  type SignalingRelay,
  type SignalingRelayOptions,
} from "@/lib/server/embedded/signaling-relay";
import { createLogger } from "@/lib/server/logger";
import { TokenSigner, TokenVerifier, generateKeyPairPem, type SignalingRole } from "@/lib/server/tokens";

// Node 20 has no global WebSocket; the SDK constructs `new WebSocket(url)`.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const ISSUER = "earshot-test";
let signer: TokenSigner;
let verifier: TokenVerifier;
let otherSigner: TokenSigner;

beforeAll(async () => {
  const keys = await generateKeyPairPem();
  signer = await TokenSigner.fromPem(keys.privateKey, ISSUER);
  verifier = await TokenVerifier.fromPem(keys.publicKey, ISSUER);
  otherSigner = await TokenSigner.fromPem((await generateKeyPairPem()).privateKey, ISSUER);
});

// ---------------------------------------------------------------------------
// Harness: the relay behind a plain HTTP server on an ephemeral loopback port

interface LogEntry {
  level: keyof Logger;
  msg: string;
  data?: Record<string, unknown>;
}

interface Harness {
  relay: SignalingRelay;
  endpoint: string;
  logs: LogEntry[];
  masterChanges: [string, boolean][];
  events: EventEmitter;
  waitForLog(match: (entry: LogEntry) => boolean): Promise<LogEntry>;
  nextMasterChange(): Promise<[string, boolean]>;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startRelay(overrides: Partial<SignalingRelayOptions> = {}): Promise<Harness> {
  const logs: LogEntry[] = [];
  const events = new EventEmitter();
  const masterChanges: [string, boolean][] = [];
  const record =
    (level: keyof Logger) =>
    (msg: string, data?: Record<string, unknown>): void => {
      const entry = { level, msg, data };
      logs.push(entry);
      events.emit("log", entry);
    };
  const logger: Logger = { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") };
  const relay = createSignalingRelay({
    verifier,
    viewersPerChannel: 10,
    logger,
    onMasterChange: (channel, connected) => {
      masterChanges.push([channel, connected]);
      events.emit("master", [channel, connected]);
    },
    // Most tests connect many clients at once; the per-client connect rate has its own test.
    ...overrides,
    limits: { connectsPerSecondPerClient: 1000, ...overrides.limits },
  });
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname === "/kvs") relay.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    await relay.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    relay,
    endpoint: `ws://127.0.0.1:${port}/kvs`,
    logs,
    masterChanges,
    events,
    waitForLog(match) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const listener = (entry: LogEntry) => {
          if (!match(entry)) return;
          events.off("log", listener);
          resolve(entry);
        };
        events.on("log", listener);
      });
    },
    nextMasterChange() {
      return once(events, "master").then(([change]) => change as [string, boolean]);
    },
  };
}

let channelCounter = 0;
function newChannel(): string {
  return `earshot-test-session-${++channelCounter}-0`;
}

async function grant(role: SignalingRole, channel: string, clientId?: string, ttlSeconds?: number, by = signer): Promise<string> {
  const { token } = await by.signalingGrant(
    { channel, role, clientId: role === "MASTER" ? "MASTER" : clientId!, sessionId: "test-session" },
    ttlSeconds,
  );
  return token;
}

/** The URL the SDK opens: what a local signer returns from getSignedURL. */
function connectUrl(endpoint: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.append(k, v);
  return `${endpoint}?${query.toString()}`;
}

// ---------------------------------------------------------------------------
// SDK peers with an inbox of everything the SDK emits

type Kind = "sdpOffer" | "sdpAnswer" | "iceCandidate" | "statusResponse";
interface Received {
  kind: Kind;
  payload: Record<string, unknown>;
  sender?: string;
}

class Peer {
  private readonly inbox: Received[] = [];
  private readonly waiters: ((r: Received) => void)[] = [];
  readonly errors: unknown[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly client: SignalingClient) {
    for (const kind of ["sdpOffer", "sdpAnswer", "iceCandidate"] as const) {
      client.on(kind, (payload: Record<string, unknown>, sender?: string) => this.push({ kind, payload, sender }));
    }
    client.on("statusResponse", (payload: Record<string, unknown>) => this.push({ kind: "statusResponse", payload }));
    client.on("error", (error: unknown) => this.errors.push(error));
    // Not events.once: that rejects when the SDK emits "error" (a refused connect).
    this.closed = new Promise((resolve) => client.once("close", () => resolve()));
  }

  private push(r: Received): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(r);
    else this.inbox.push(r);
  }

  /** The next thing the SDK emitted, in arrival order. */
  next(): Promise<Received> {
    const r = this.inbox.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  static async open(
    h: Harness,
    opts: { role: SignalingRole; channel: string; clientId?: string; grant?: string | null; arn?: string },
  ): Promise<Peer> {
    const token = opts.grant === undefined ? await grant(opts.role, opts.channel, opts.clientId) : opts.grant;
    const client = new SignalingClient({
      role: opts.role === "MASTER" ? Role.MASTER : Role.VIEWER,
      clientId: opts.role === "VIEWER" ? opts.clientId : undefined,
      channelARN: opts.arn ?? embeddedChannelArn(opts.channel),
      channelEndpoint: h.endpoint,
      region: "local",
      requestSigner: {
        getSignedURL: async (endpoint, queryParams) =>
          connectUrl(endpoint, { ...queryParams, "X-Earshot-Grant": token ?? undefined }),
      },
    });
    const peer = new Peer(client);
    const opened = new Promise<void>((resolve, reject) => {
      client.once("open", () => resolve());
      client.once("error", (e: { message?: string }) => reject(new Error(`SDK error: ${e?.message ?? String(e)}`)));
      client.once("close", () => reject(new Error("closed before open")));
    });
    client.open();
    cleanups.push(() => client.close());
    await opened;
    return peer;
  }
}

const offer = (marker: string) => ({ type: "offer", sdp: `v=0 ${marker}` }) as unknown as RTCSessionDescription;
const answer = (marker: string) => ({ type: "answer", sdp: `v=0 ${marker}` }) as unknown as RTCSessionDescription;
const ice = (marker: string) =>
  ({ candidate: `candidate:${marker} 1 udp 2122260223 10.0.0.1 5000 typ host`, sdpMid: "0", sdpMLineIndex: 0 }) as unknown as RTCIceCandidate;

// ---------------------------------------------------------------------------
// Raw ws clients

interface RawClient {
  ws: WebSocket;
  next(): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

async function openRaw(url: string): Promise<RawClient> {
  const ws = new WebSocket(url);
  const inbox: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  cleanups.push(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    closed,
    next: () => {
      const m = inbox.shift();
      return m ? Promise.resolve(m) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** Opens a raw connection that must be refused; returns the HTTP status, headers and JSON body. */
function refusedUpgrade(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: { error: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("open", () => {
      ws.close();
      reject(new Error("the upgrade was accepted"));
    });
    ws.on("error", reject);
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) });
        } catch (error) {
          reject(error);
        }
      });
    });
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

// ---------------------------------------------------------------------------

describe("signaling relay: message flow with the KVS SDK", () => {
  it("delivers a viewer's offer to the master with the viewer's client id", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "listener-a" });

    viewer.client.sendSdpOffer(offer("from-a"));
    const got = await master.next();
    expect(got).toEqual({ kind: "sdpOffer", payload: { type: "offer", sdp: "v=0 from-a" }, sender: "listener-a" });
    expect(h.relay.stats()).toEqual({ channels: 1, masters: 1, viewers: 1 });
  });

  it("carries ICE candidates both ways after the offer/answer", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "listener-a" });

    viewer.client.sendSdpOffer(offer("o"));
    expect((await master.next()).kind).toBe("sdpOffer");
    master.client.sendSdpAnswer(answer("a"), "listener-a");
    const gotAnswer = await viewer.next();
    // From the master: no senderClientId, as KVS sends it.
    expect(gotAnswer).toEqual({ kind: "sdpAnswer", payload: { type: "answer", sdp: "v=0 a" }, sender: undefined });

    viewer.client.sendIceCandidate(ice("viewer-1"));
    expect(await master.next()).toEqual({ kind: "iceCandidate", payload: JSON.parse(JSON.stringify(ice("viewer-1"))), sender: "listener-a" });
    master.client.sendIceCandidate(ice("master-1"), "listener-a");
    expect(await viewer.next()).toEqual({ kind: "iceCandidate", payload: JSON.parse(JSON.stringify(ice("master-1"))), sender: undefined });
  });

  it("delivers the master's answers and candidates only to their recipient", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const v1 = await Peer.open(h, { role: "VIEWER", channel, clientId: "v1" });
    const v2 = await Peer.open(h, { role: "VIEWER", channel, clientId: "v2" });

    v1.client.sendSdpOffer(offer("o1"));
    expect(await master.next()).toMatchObject({ kind: "sdpOffer", sender: "v1", payload: { sdp: "v=0 o1" } });
    v2.client.sendSdpOffer(offer("o2"));
    expect(await master.next()).toMatchObject({ kind: "sdpOffer", sender: "v2", payload: { sdp: "v=0 o2" } });

    master.client.sendSdpAnswer(answer("for-v1"), "v1");
    master.client.sendIceCandidate(ice("for-v1"), "v1");
    master.client.sendSdpAnswer(answer("for-v2"), "v2");
    master.client.sendIceCandidate(ice("for-v2"), "v2");
    master.client.sendIceCandidate(ice("for-v1-later"), "v1");

    // Each viewer's stream is exactly its own messages, in order: had v1's
    // messages leaked to v2 (or the other way), they would come first.
    expect(await v1.next()).toMatchObject({ kind: "sdpAnswer", payload: { sdp: "v=0 for-v1" } });
    expect(await v1.next()).toMatchObject({ kind: "iceCandidate", payload: { candidate: expect.stringContaining("for-v1 ") } });
    expect(await v1.next()).toMatchObject({ kind: "iceCandidate", payload: { candidate: expect.stringContaining("for-v1-later") } });
    expect(await v2.next()).toMatchObject({ kind: "sdpAnswer", payload: { sdp: "v=0 for-v2" } });
    expect(await v2.next()).toMatchObject({ kind: "iceCandidate", payload: { candidate: expect.stringContaining("for-v2") } });
    master.client.sendIceCandidate(ice("v2-control"), "v2");
    expect(await v2.next()).toMatchObject({ kind: "iceCandidate", payload: { candidate: expect.stringContaining("v2-control") } });
  });

  it("keeps channels apart, even for the same viewer client id", async () => {
    const h = await startRelay();
    const a = newChannel();
    const b = newChannel();
    const masterA = await Peer.open(h, { role: "MASTER", channel: a });
    const masterB = await Peer.open(h, { role: "MASTER", channel: b });
    const aliceA = await Peer.open(h, { role: "VIEWER", channel: a, clientId: "alice" });
    const aliceB = await Peer.open(h, { role: "VIEWER", channel: b, clientId: "alice" });

    aliceA.client.sendSdpOffer(offer("on-a"));
    expect(await masterA.next()).toMatchObject({ kind: "sdpOffer", payload: { sdp: "v=0 on-a" }, sender: "alice" });
    masterA.client.sendSdpAnswer(answer("from-a"), "alice");
    expect(await aliceA.next()).toMatchObject({ kind: "sdpAnswer", payload: { sdp: "v=0 from-a" } });

    aliceB.client.sendSdpOffer(offer("on-b"));
    expect(await masterB.next()).toMatchObject({ kind: "sdpOffer", payload: { sdp: "v=0 on-b" }, sender: "alice" });
    masterB.client.sendSdpAnswer(answer("from-b"), "alice");
    expect(await aliceB.next()).toMatchObject({ kind: "sdpAnswer", payload: { sdp: "v=0 from-b" } });

    // Positive controls: the next thing on channel A is A's, so nothing of B's crossed over.
    aliceA.client.sendSdpOffer(offer("on-a-2"));
    expect(await masterA.next()).toMatchObject({ payload: { sdp: "v=0 on-a-2" } });
    masterA.client.sendSdpAnswer(answer("from-a-2"), "alice");
    expect(await aliceA.next()).toMatchObject({ payload: { sdp: "v=0 from-a-2" } });
    expect(h.relay.stats()).toEqual({ channels: 2, masters: 2, viewers: 2 });
  });
});

describe("signaling relay: masters, viewers and the viewer cap", () => {
  it("lets a second master replace the first and reports master up/down", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const m1 = await Peer.open(h, { role: "MASTER", channel });
    expect(h.masterChanges).toEqual([[channel, true]]);

    const m2 = await Peer.open(h, { role: "MASTER", channel });
    await m1.closed;
    expect(h.masterChanges).toEqual([
      [channel, true],
      [channel, false],
      [channel, true],
    ]);
    // The old master's late close must not unseat the new one.
    await h.waitForLog((e) => e.msg === "signaling disconnected" && e.data?.role === "MASTER");
    expect(h.relay.stats()).toEqual({ channels: 1, masters: 1, viewers: 0 });

    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "v" });
    viewer.client.sendSdpOffer(offer("to-new-master"));
    expect(await m2.next()).toMatchObject({ kind: "sdpOffer", payload: { sdp: "v=0 to-new-master" }, sender: "v" });

    const down = h.nextMasterChange();
    m2.client.close();
    expect(await down).toEqual([channel, false]);
    expect(h.relay.stats()).toEqual({ channels: 1, masters: 0, viewers: 1 });
  });

  it("lets a viewer reconnecting with the same client id replace its old connection", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const old = await Peer.open(h, { role: "VIEWER", channel, clientId: "phone" });
    const fresh = await Peer.open(h, { role: "VIEWER", channel, clientId: "phone" });
    await old.closed;
    await h.waitForLog((e) => e.msg === "signaling disconnected" && e.data?.clientId === "phone");
    expect(h.relay.stats()).toEqual({ channels: 1, masters: 1, viewers: 1 });

    fresh.client.sendSdpOffer(offer("fresh"));
    expect(await master.next()).toMatchObject({ kind: "sdpOffer", sender: "phone" });
    master.client.sendSdpAnswer(answer("to-phone"), "phone", "ans-1");
    expect(await fresh.next()).toMatchObject({ kind: "sdpAnswer", payload: { sdp: "v=0 to-phone" } });
    expect(old.errors).toEqual([]);
  });

  it("refuses the 11th viewer with 429 CHANNEL_FULL, still admits a reconnect, and frees the slot on leave", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const viewers = await Promise.all(Array.from({ length: 10 }, (_, i) => Peer.open(h, { role: "VIEWER", channel, clientId: `v${i}` })));
    expect(h.relay.stats()).toEqual({ channels: 1, masters: 1, viewers: 10 });

    await expect(Peer.open(h, { role: "VIEWER", channel, clientId: "v10" })).rejects.toThrow(/Unexpected server response: 429/);
    const refused = await refusedUpgrade(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "v10", "X-Earshot-Grant": await grant("VIEWER", channel, "v10") }),
    );
    expect(refused.status).toBe(429);
    expect(refused.headers["content-type"]).toMatch(/application\/json/);
    expect(refused.body.error.code).toBe("CHANNEL_FULL");
    expect(refused.body.error.message).toMatch(/10 viewers/);

    // A reconnect of a present viewer replaces it and does not count against the cap.
    const v3again = await Peer.open(h, { role: "VIEWER", channel, clientId: "v3" });
    await viewers[3]!.closed;
    v3again.client.sendSdpOffer(offer("v3-again"));
    expect(await master.next()).toMatchObject({ sender: "v3", payload: { sdp: "v=0 v3-again" } });

    // A viewer leaving frees its slot (the relay notices the close on its own time).
    viewers[0]!.client.close();
    await vi.waitFor(() => expect(h.relay.stats().viewers).toBe(9));
    const v10 = await Peer.open(h, { role: "VIEWER", channel, clientId: "v10" });
    v10.client.sendSdpOffer(offer("v10"));
    expect(await master.next()).toMatchObject({ sender: "v10" });
  });

  it("honours a configured viewer cap and refuses a nonsense one", async () => {
    const h = await startRelay({ viewersPerChannel: 1 });
    const channel = newChannel();
    await Peer.open(h, { role: "VIEWER", channel, clientId: "only" });
    await expect(Peer.open(h, { role: "VIEWER", channel, clientId: "second" })).rejects.toThrow(/429/);
    // Another channel has its own cap.
    await Peer.open(h, { role: "VIEWER", channel: newChannel(), clientId: "second" });
    expect(() => createSignalingRelay({ verifier, viewersPerChannel: 0, logger: createLogger("test") })).toThrow(RangeError);
  });

  it("refuses a client's 4th connect to a channel within a second (ConnectAs* 3 TPS) with 429 and Retry-After", async () => {
    let t = 1_000_000;
    const h = await startRelay({ now: () => t, limits: { connectsPerSecondPerClient: 3 } });
    const channel = newChannel();
    for (let i = 0; i < 3; i++) await Peer.open(h, { role: "VIEWER", channel, clientId: "c" });
    const refused = await refusedUpgrade(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "c", "X-Earshot-Grant": await grant("VIEWER", channel, "c") }),
    );
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("RATE_LIMIT_EXCEEDED");
    expect(refused.headers["retry-after"]).toBe("1");
    // Other channels have their own budget; this one refills with time.
    await Peer.open(h, { role: "VIEWER", channel: newChannel(), clientId: "c" });
    t += 1000;
    await Peer.open(h, { role: "VIEWER", channel, clientId: "c" });
    expect(h.relay.stats().viewers).toBe(2);
  });

  it("does not let a listener reconnecting in a loop starve the master or other listeners (security review, finding 2)", async () => {
    const t = 2_000_000; // pinned: everything below happens within one second
    const h = await startRelay({ now: () => t, limits: { connectsPerSecondPerClient: 3 } });
    const channel = newChannel();
    const looper = await grant("VIEWER", channel, "looper");
    const url = connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "looper", "X-Earshot-Grant": looper });
    let refusedLoops = 0;
    for (let i = 0; i < 12; i++) {
      try {
        const raw = await openRaw(url);
        raw.ws.close();
      } catch {
        refusedLoops++;
      }
    }
    expect(refusedLoops).toBe(9); // the looper's own budget: 3 a second
    // Before, the channel's one budget was spent: the master and every new listener got 429.
    await Peer.open(h, { role: "MASTER", channel });
    for (const id of ["fresh-1", "fresh-2", "fresh-3"]) await Peer.open(h, { role: "VIEWER", channel, clientId: id });
    expect(h.relay.stats()).toMatchObject({ masters: 1 });
    await vi.waitFor(() => expect(h.relay.stats().viewers).toBe(3));
  });
});

describe("signaling relay: access checks at connect", () => {
  async function expectRefused(
    h: Harness,
    opts: { role: SignalingRole; channel: string; clientId?: string; grant?: string | null; arn?: string },
    status: number,
    code: string,
  ): Promise<void> {
    // What the SDK sees (the browser cannot read more than this)...
    await expect(Peer.open(h, opts)).rejects.toThrow(new RegExp(`Unexpected server response: ${status}`));
    // ...and the HTTP answer itself.
    const token = opts.grant === undefined ? await grant(opts.role, opts.channel, opts.clientId) : opts.grant;
    const refused = await refusedUpgrade(
      connectUrl(h.endpoint, {
        "X-Amz-ChannelARN": opts.arn ?? embeddedChannelArn(opts.channel),
        "X-Amz-ClientId": opts.role === "VIEWER" ? opts.clientId : undefined,
        "X-Earshot-Grant": token ?? undefined,
      }),
    );
    expect(refused.status).toBe(status);
    expect(refused.body.error.code).toBe(code);
    expect(refused.body.error.message.length).toBeGreaterThan(0);
  }

  it("refuses missing, forged, expired, unsigned and wrong-audience grants with 401", async () => {
    const h = await startRelay();
    const channel = newChannel();
    await expectRefused(h, { role: "MASTER", channel, grant: null }, 401, "UNAUTHORIZED");
    await expectRefused(h, { role: "VIEWER", channel, clientId: "v", grant: null }, 401, "UNAUTHORIZED");
    await expectRefused(h, { role: "MASTER", channel, grant: await grant("MASTER", channel, undefined, undefined, otherSigner) }, 401, "UNAUTHORIZED");
    await expectRefused(h, { role: "VIEWER", channel, clientId: "v", grant: await grant("VIEWER", channel, "v", -60) }, 401, "UNAUTHORIZED");

    const valid = await grant("MASTER", channel);
    const [, payload] = valid.split(".");
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    await expectRefused(h, { role: "MASTER", channel, grant: unsigned }, 401, "UNAUTHORIZED");
    const [header, , signature] = valid.split(".");
    await expectRefused(h, { role: "MASTER", channel, grant: `${header}.${payload}x.${signature}` }, 401, "UNAUTHORIZED");
    await expectRefused(h, { role: "MASTER", channel, grant: "not-a-jwt" }, 401, "UNAUTHORIZED");
    const speakerToken = (await signer.speakerToken({ speakerId: "MASTER" })).token;
    await expectRefused(h, { role: "MASTER", channel, grant: speakerToken }, 401, "UNAUTHORIZED");

    const expired = await refusedUpgrade(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Earshot-Grant": await grant("MASTER", channel, undefined, -60) }),
    );
    expect(expired.body.error.message).toMatch(/expired/);
    expect(h.relay.stats()).toEqual({ channels: 0, masters: 0, viewers: 0 });
  });

  it("refuses valid grants used for another channel, role or client id with 403", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const other = newChannel();
    await expectRefused(h, { role: "MASTER", channel, grant: await grant("MASTER", other) }, 403, "UNAUTHORIZED_ACTION");
    await expectRefused(h, { role: "VIEWER", channel, clientId: "v", grant: await grant("VIEWER", other, "v") }, 403, "UNAUTHORIZED_ACTION");
    // A viewer grant may not connect as master, a master grant not as a viewer.
    await expectRefused(h, { role: "MASTER", channel, grant: await grant("VIEWER", channel, "v") }, 403, "UNAUTHORIZED_ACTION");
    await expectRefused(h, { role: "VIEWER", channel, clientId: "v", grant: await grant("MASTER", channel) }, 403, "UNAUTHORIZED_ACTION");
    await expectRefused(h, { role: "VIEWER", channel, clientId: "MASTER", grant: await grant("MASTER", channel) }, 403, "UNAUTHORIZED_ACTION");
    // A viewer grant is for one client id.
    await expectRefused(h, { role: "VIEWER", channel, clientId: "mallory", grant: await grant("VIEWER", channel, "alice") }, 403, "UNAUTHORIZED_ACTION");
    expect(h.relay.stats()).toEqual({ channels: 0, masters: 0, viewers: 0 });

    // Positive control: the same relay admits the right grants.
    await Peer.open(h, { role: "MASTER", channel });
    await Peer.open(h, { role: "VIEWER", channel, clientId: "alice" });
    expect(h.relay.stats()).toEqual({ channels: 1, masters: 1, viewers: 1 });
  });

  it("refuses malformed, missing or non-embedded ARNs and bad client ids with 400", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const g = await grant("MASTER", channel);
    for (const arn of [
      "arn:aws:kinesisvideo:local:000000000000:channel/with space/0",
      "nonsense",
      `arn:aws:kinesisvideo:local:000000000000:stream/${channel}/0`,
      `arn:aws:kinesisvideo:eu-west-1:123456789012:channel/${channel}/1700000000000`,
    ]) {
      await expectRefused(h, { role: "MASTER", channel, grant: g, arn }, 400, "INVALID_PARAMETER");
    }
    const noArn = await refusedUpgrade(connectUrl(h.endpoint, { "X-Earshot-Grant": g }));
    expect([noArn.status, noArn.body.error.code]).toEqual([400, "MISSING_PARAMETER"]);
    const twice = await refusedUpgrade(
      `${connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Earshot-Grant": g })}&X-Earshot-Grant=${encodeURIComponent(g)}`,
    );
    expect([twice.status, twice.body.error.code]).toEqual([400, "INVALID_PARAMETER"]);
    const badId = await refusedUpgrade(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "a/b", "X-Earshot-Grant": await grant("VIEWER", channel, "a/b") }),
    );
    expect([badId.status, badId.body.error.code]).toEqual([400, "INVALID_PARAMETER"]);
    // Still serving.
    await Peer.open(h, { role: "MASTER", channel, grant: g });
  });
});

describe("signaling relay: refused messages", () => {
  it("answers malformed frames that carry a correlationId with STATUS_RESPONSE, drops and logs the others, and keeps serving", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const raw = await openRaw(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "raw", "X-Earshot-Grant": await grant("VIEWER", channel, "raw") }),
    );
    const good = b64({ type: "offer", sdp: "v=0 bad-then-good" });

    // No usable correlationId: dropped silently.
    raw.ws.send("not json at all");
    raw.ws.send(Buffer.from(JSON.stringify({ action: "SDP_OFFER", messagePayload: good, correlationId: "bin" })), { binary: true });
    raw.ws.send("[1,2,3]");
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: good, correlationId: "bad id!" }));
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: "%%%" }));
    // With one: answered.
    raw.ws.send(JSON.stringify({ action: "HELLO", messagePayload: good, correlationId: "c-action" }));
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", correlationId: "c-missing" }));
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: "%%%", correlationId: "c-b64" }));
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: "A".repeat(10_001), correlationId: "c-big" }));

    for (const correlationId of ["c-action", "c-missing", "c-b64", "c-big"]) {
      const m = await raw.next();
      expect(m).toEqual({
        messageType: "STATUS_RESPONSE",
        statusResponse: { correlationId, success: false, errorType: "InvalidArgumentException", statusCode: "400", description: expect.any(String) },
      });
    }
    // None of the refused frames reached the master: the first thing it gets is this.
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: good }));
    expect(await master.next()).toEqual({ kind: "sdpOffer", payload: { type: "offer", sdp: "v=0 bad-then-good" }, sender: "raw" });
    const drops = h.logs.filter((e) => e.msg === "signaling message dropped" && e.data?.clientId === "raw");
    expect(drops).toHaveLength(5);

    // A frame past the frame limit closes that connection (1009), and only it.
    raw.ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: "A".repeat(40_000) }));
    expect((await raw.closed).code).toBe(1009);
    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "after" });
    viewer.client.sendSdpOffer(offer("after"));
    expect(await master.next()).toMatchObject({ sender: "after", payload: { sdp: "v=0 after" } });
  });

  it("accepts a payload of exactly 10,000 characters and refuses a longer one (SDK)", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "v" });
    // {"type":"offer","sdp":"…"} is 25 characters + the sdp; 7500 JSON characters are 10,000 base64 characters.
    const atLimit = { type: "offer", sdp: "x".repeat(7475) };
    const overLimit = { type: "offer", sdp: "y".repeat(7476) };
    expect(b64(atLimit)).toHaveLength(10_000);

    viewer.client.sendSdpOffer(overLimit as unknown as RTCSessionDescription, undefined, "too-big");
    const status = await viewer.next();
    expect(status).toEqual({
      kind: "statusResponse",
      payload: { correlationId: "too-big", success: false, errorType: "InvalidArgumentException", statusCode: "400", description: expect.stringMatching(/10000/) },
    });
    viewer.client.sendSdpOffer(atLimit as unknown as RTCSessionDescription, undefined, "at-limit");
    const got = await master.next();
    expect(got.kind).toBe("sdpOffer");
    expect(got.payload.sdp).toBe(atLimit.sdp);
  });

  it("refuses master messages without a recipient or to an absent viewer, and viewer messages with no master", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "early" });
    viewer.client.sendSdpOffer(offer("too-early"));
    viewer.client.sendSdpOffer(offer("too-early"), undefined, "no-master");
    expect(await viewer.next()).toMatchObject({
      kind: "statusResponse",
      payload: { correlationId: "no-master", errorType: "ResourceNotFoundException", statusCode: "404" },
    });

    const master = await Peer.open(h, { role: "MASTER", channel });
    master.client.sendSdpAnswer(answer("nobody"), "ghost"); // no correlationId: dropped
    master.client.sendSdpAnswer(answer("nobody"), "ghost", "to-ghost");
    master.client.sendSdpAnswer(answer("no recipient"), undefined, "no-recipient");
    expect(await master.next()).toMatchObject({
      kind: "statusResponse",
      payload: { correlationId: "to-ghost", errorType: "ResourceNotFoundException", statusCode: "404" },
    });
    expect(await master.next()).toMatchObject({
      kind: "statusResponse",
      payload: { correlationId: "no-recipient", errorType: "InvalidArgumentException", statusCode: "400", description: expect.stringMatching(/recipientClientId/) },
    });
    // The viewer got none of those; the first thing it gets is this.
    master.client.sendSdpAnswer(answer("real"), "early");
    expect(await viewer.next()).toMatchObject({ kind: "sdpAnswer", payload: { sdp: "v=0 real" } });
  });

  it("limits SDP to 5 and ICE to 20 per second per connection", async () => {
    let t = 5_000_000;
    const h = await startRelay({ now: () => t });
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const viewer = await Peer.open(h, { role: "VIEWER", channel, clientId: "busy" });

    for (let i = 1; i <= 6; i++) viewer.client.sendSdpOffer(offer(`o${i}`), undefined, `sdp-${i}`);
    viewer.client.sendSdpOffer(offer("o7")); // refused without correlationId: dropped, logged
    for (let i = 1; i <= 21; i++) viewer.client.sendIceCandidate(ice(`c${i}`), undefined, `ice-${i}`);

    expect(await viewer.next()).toMatchObject({
      kind: "statusResponse",
      payload: { correlationId: "sdp-6", errorType: "ClientLimitExceededException", statusCode: "400" },
    });
    expect(await viewer.next()).toMatchObject({ kind: "statusResponse", payload: { correlationId: "ice-21", errorType: "ClientLimitExceededException" } });
    for (let i = 1; i <= 5; i++) expect(await master.next()).toMatchObject({ kind: "sdpOffer", payload: { sdp: `v=0 o${i}` } });
    for (let i = 1; i <= 20; i++) {
      expect(await master.next()).toMatchObject({ kind: "iceCandidate", payload: { candidate: expect.stringContaining(`c${i} `) } });
    }
    await h.waitForLog((e) => e.msg === "signaling message dropped" && e.data?.code === "RATE_LIMIT_EXCEEDED");

    // A second later the budget is back; the refused ones never arrive.
    t += 1000;
    viewer.client.sendSdpOffer(offer("later"), undefined, "sdp-later");
    expect(await master.next()).toMatchObject({ kind: "sdpOffer", payload: { sdp: "v=0 later" } });
  });
});

describe("signaling relay: connection lifetime and shutdown", () => {
  it("closes an idle connection", async () => {
    const h = await startRelay({ limits: { idleTimeoutMs: 250 } });
    const channel = newChannel();
    const raw = await openRaw(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "sleepy", "X-Earshot-Grant": await grant("VIEWER", channel, "sleepy") }),
    );
    expect((await raw.closed).code).toBe(SIGNALING_CLOSE_CODES.IDLE);
    await vi.waitFor(() => expect(h.relay.stats()).toEqual({ channels: 0, masters: 0, viewers: 0 }));
  });

  it("sends GO_AWAY and closes a connection at its maximum duration", async () => {
    const h = await startRelay({ limits: { maxConnectionMs: 250 } });
    const channel = newChannel();
    const raw = await openRaw(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Earshot-Grant": await grant("MASTER", channel) }),
    );
    expect(await raw.next()).toEqual({ messageType: "GO_AWAY" });
    expect((await raw.closed).code).toBe(SIGNALING_CLOSE_CODES.GOING_AWAY);
    await h.waitForLog((e) => e.msg === "signaling disconnected");
    expect(h.masterChanges).toEqual([
      [channel, true],
      [channel, false],
    ]);
  });

  it("says GO_AWAY to everyone on close() and refuses new connections with 503", async () => {
    const h = await startRelay();
    const channel = newChannel();
    const master = await Peer.open(h, { role: "MASTER", channel });
    const raw = await openRaw(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Amz-ClientId": "v", "X-Earshot-Grant": await grant("VIEWER", channel, "v") }),
    );
    await h.relay.close();
    expect(await raw.next()).toEqual({ messageType: "GO_AWAY" });
    expect((await raw.closed).code).toBe(1001);
    await master.closed;
    expect(h.relay.stats()).toEqual({ channels: 0, masters: 0, viewers: 0 });
    expect(h.masterChanges.at(-1)).toEqual([channel, false]);

    const refused = await refusedUpgrade(
      connectUrl(h.endpoint, { "X-Amz-ChannelARN": embeddedChannelArn(channel), "X-Earshot-Grant": await grant("MASTER", channel) }),
    );
    expect(refused.status).toBe(503);
  });
});
