import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BroadcastState, MediaChannelMessage } from "@/lib/core/protocol";
import { DefaultReconnectPolicy } from "@/lib/client/backoff";
import type { MasterLike } from "@/lib/client/session/speaker-live";
import { SpeakerSession, type SpeakerSessionOptions, type TokenResponse } from "@/lib/client/session/speaker-session";
import type { SpeakerSessionInfo } from "@/lib/client/session/speaker-state";
import { FakeSocket } from "./support/fake-socket";

/**
 * SpeakerSession over FakeSocket (the control channel is the real one): the
 * published state, the re-attach and re-announce after a reconnect, the
 * session-gone rule, sign-out, and the live audio with a fake microphone
 * and master.
 */

const SESSION: SpeakerSessionInfo = {
  sessionId: "pure-psalm-481",
  title: "Keynote",
  sourceLanguage: "en",
  joinUrl: "http://127.0.0.1:3000/join/pure-psalm-481",
  targetLanguages: ["es"],
  recognizer: "off",
  offers: [
    { language: "en", kind: "source", captions: true },
    { language: "es", kind: "voice", captions: true },
  ],
};
const ACTIVE: BroadcastState = { status: "active", muted: false, live: false };
const LIVE: BroadcastState = { status: "active", muted: false, live: true };

const MASTER_CHANNELS: MediaChannelMessage = {
  type: "mediaChannel",
  sessionId: SESSION.sessionId,
  role: "MASTER",
  channels: [{ shard: 0, channelName: "earshot-pure-psalm-481-0", channelArn: "arn", grant: "g" }],
  signaling: { kind: "embedded", endpoint: "ws://127.0.0.1:3000/kvs" },
};

class FakeMaster implements MasterLike {
  readonly setChannels = vi.fn(async (_message: MediaChannelMessage) => undefined);
  muted = false;
  paused = false;
  closed = false;
  private peers?: (n: number) => void;
  setMuted(muted: boolean) {
    this.muted = muted;
  }
  setPaused(paused: boolean) {
    this.paused = paused;
  }
  on(event: "peersChanged" | "error", handler: (value: never) => void): () => void {
    if (event === "peersChanged") this.peers = handler as (n: number) => void;
    return () => undefined;
  }
  close() {
    this.closed = true;
  }
  peersConnected(n: number) {
    this.peers?.(n);
  }
}

const tokenOk = (): Promise<TokenResponse> => Promise.resolve({ status: 200, ok: true, json: async () => ({ token: "tok" }) });

function setup(options: Partial<SpeakerSessionOptions> = {}) {
  const urls: (string | undefined)[] = [];
  const masters: FakeMaster[] = [];
  const micStopped = vi.fn();
  const mic = { getTracks: () => [{ stop: micStopped }], getAudioTracks: () => [{}] } as unknown as MediaStream;
  const session = new SpeakerSession({
    wsUrl: "ws://127.0.0.1:3000/ws",
    location: { protocol: "http:", host: "127.0.0.1:3000" },
    createWebSocket: (url) => new FakeSocket(url),
    reconnectPolicy: new DefaultReconnectPolicy({ random: () => 0 }),
    fetchToken: tokenOk,
    showSessionInUrl: (id) => urls.push(id),
    live: {
      openMicrophone: async () => mic,
      resumeAudio: () => undefined,
      loadMaster: async () => () => {
        const master = new FakeMaster();
        masters.push(master);
        return master;
      },
    },
    ...options,
  });
  return { session, urls, masters, mic, micStopped };
}

const lastSocket = () => FakeSocket.all.at(-1)!;

/** The request for `action` the session sent on `socket` (waits for it). */
async function request(action: string, socket: FakeSocket = lastSocket()): Promise<Record<string, unknown>> {
  return vi.waitFor(() => {
    const sent = socket.sent.findLast((m) => m.action === action);
    if (!sent) throw new Error(`no ${action} sent yet`);
    return sent;
  });
}

async function reply(action: string, message: object, socket: FakeSocket = lastSocket()): Promise<void> {
  const sent = await request(action, socket);
  socket.serverSends({ ...message, requestId: sent.requestId });
}

function status(broadcastState: BroadcastState, listenerCount = 0) {
  return { type: "sessionStatus", sessionId: SESSION.sessionId, listenerCount, languageDistribution: { es: listenerCount }, originalListeners: 0, broadcastState, timestamp: 0 };
}

/** Starts the session and opens its first socket. */
async function connect(session: SpeakerSession): Promise<FakeSocket> {
  session.start();
  const socket = await vi.waitFor(() => {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error("no socket yet");
    return s;
  });
  socket.open();
  return socket;
}

beforeEach(() => {
  FakeSocket.all = [];
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("SpeakerSession", () => {
  it("publishes one state: connection, then the created session with its broadcast state, and puts it in the URL", async () => {
    const { session, urls } = setup();
    const seen: string[] = [];
    session.subscribe(() => seen.push(session.getSnapshot().connection));
    expect(session.getSnapshot()).toMatchObject({ connection: "idle", session: undefined, silent: false, speaking: false });

    const socket = await connect(session);
    expect(socket.url).toContain("token=tok");
    expect(socket.url).not.toContain("sessionId");
    expect(session.getSnapshot().connection).toBe("open");
    expect(seen).toContain("connecting");

    const created = session.createSession({ title: "Keynote", sourceLanguage: "en", targetLanguages: ["es"], recognizer: "off" });
    expect(session.getSnapshot().busy).toBe("createSession");
    await reply("createSession", { type: "sessionCreated", createdAt: 0, expiresAt: 0, broadcastState: ACTIVE, ...SESSION });
    await created;
    expect(session.getSnapshot()).toMatchObject({ session: SESSION, broadcast: ACTIVE, busy: undefined, ended: undefined });
    expect(urls).toEqual([SESSION.sessionId]);
    session.stop();
  });

  it("re-attaches after a drop: the new socket carries a fresh token and the session, and the status is asked again", async () => {
    let tokens = 0;
    const { session } = setup({
      resume: SESSION,
      fetchToken: () => Promise.resolve({ status: 200, ok: true, json: async () => ({ token: `tok-${++tokens}` }) }),
    });
    const first = await connect(session);
    expect(first.url).toContain(`sessionId=${SESSION.sessionId}`);
    await reply("getSessionStatus", status(ACTIVE, 3), first);
    await vi.waitFor(() => expect(session.getSnapshot().counts.total).toBe(3));

    first.drop(1006);
    expect(session.getSnapshot().connection).toBe("reconnecting");
    const second = await vi.waitFor(() => {
      if (FakeSocket.all.length < 2) throw new Error("no new socket yet");
      return lastSocket();
    });
    expect(second.url).toContain("token=tok-2");
    expect(second.url).toContain(`sessionId=${SESSION.sessionId}`);
    second.open();
    await reply("getSessionStatus", status(ACTIVE, 5), second);
    await vi.waitFor(() => expect(session.getSnapshot().counts).toEqual({ total: 5, byLanguage: { es: 5 }, originalListeners: 0 }));
    expect(session.getSnapshot().connection).toBe("open");
    session.stop();
  });

  it("goes live (mic, master on the channels, startBroadcast), silences the track before a mute is confirmed, and re-announces after a reconnect", async () => {
    const { session, masters } = setup({ resume: SESSION });
    const first = await connect(session);
    await reply("getSessionStatus", status(ACTIVE), first);

    const live = session.goLive();
    expect(session.getSnapshot().live.phase).toBe("starting");
    await reply("getMediaChannel", MASTER_CHANNELS, first);
    await reply("startBroadcast", { type: "broadcastStarted", sessionId: SESSION.sessionId, broadcastState: LIVE }, first);
    await live;
    const master = masters[0]!;
    expect(master.setChannels).toHaveBeenCalledWith(expect.objectContaining({ role: "MASTER" }));
    expect(session.getSnapshot()).toMatchObject({ live: { phase: "live", peers: 0 }, broadcast: LIVE, speaking: true, silent: false });
    master.peersConnected(2);
    expect(session.getSnapshot().live.peers).toBe(2);

    // Mute: silent at once, before the server confirms; recognition stops with it.
    const mute = session.broadcastAction("muteBroadcast");
    expect(master.muted).toBe(true);
    expect(session.getSnapshot()).toMatchObject({ silent: true, speaking: false });
    await reply("muteBroadcast", { type: "broadcastMuted", sessionId: SESSION.sessionId, broadcastState: { ...LIVE, muted: true } }, first);
    await mute;
    expect(master.muted).toBe(true);

    // The drop stopped the broadcast for listeners: after the re-attach, the status says not live, and it is announced again.
    first.drop(1006);
    const second = await vi.waitFor(() => {
      if (FakeSocket.all.length < 2) throw new Error("no new socket yet");
      return lastSocket();
    });
    second.open();
    await reply("getSessionStatus", status({ ...LIVE, muted: true, live: false }), second);
    await reply("getMediaChannel", MASTER_CHANNELS, second);
    await reply("startBroadcast", { type: "broadcastStarted", sessionId: SESSION.sessionId, broadcastState: { ...LIVE, muted: true } }, second);
    await vi.waitFor(() => expect(session.getSnapshot().broadcast?.live).toBe(true));
    expect(master.setChannels.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(second.sent.filter((m) => m.action === "startBroadcast")).toHaveLength(1);
    session.stop();
    expect(master.closed).toBe(true);
  });

  it("reports a microphone refusal without asking the server for anything", async () => {
    const { session } = setup({
      resume: SESSION,
      live: {
        openMicrophone: async () => {
          const { RtcError } = await import("@/lib/client/rtc/errors");
          throw new RtcError("MIC_PERMISSION_DENIED");
        },
        resumeAudio: () => undefined,
        loadMaster: async () => () => new FakeMaster(),
      },
    });
    const socket = await connect(session);
    await session.goLive();
    expect(session.getSnapshot().live).toMatchObject({ phase: "off", error: expect.stringMatching(/Allow the microphone/) });
    expect(socket.sent.some((m) => m.action === "getMediaChannel" || m.action === "startBroadcast")).toBe(false);
    session.stop();
  });

  it("ends the session when the server says it is gone, for any action, and comes back without it", async () => {
    const { session, urls } = setup({ resume: SESSION });
    const socket = await connect(session);
    await reply("getSessionStatus", status(LIVE, 4), socket);
    await vi.waitFor(() => expect(session.getSnapshot().counts.total).toBe(4));

    const pause = session.broadcastAction("pauseBroadcast");
    await reply("pauseBroadcast", { type: "error", code: "SESSION_NOT_FOUND", message: "No such session." }, socket);
    await pause;
    expect(session.getSnapshot()).toMatchObject({ session: undefined, broadcast: undefined, ended: { sessionId: SESSION.sessionId, listeners: 4 }, error: undefined });
    expect(urls).toEqual([undefined]);

    socket.drop(1006);
    const next = await vi.waitFor(() => {
      if (FakeSocket.all.length < 2) throw new Error("no new socket yet");
      return lastSocket();
    });
    expect(next.url).not.toContain("sessionId");
    session.stop();
  });

  it("shows other refusals and keeps the session; ignores an older session's pushes; ends on sessionEnded", async () => {
    const { session } = setup({ resume: SESSION });
    const socket = await connect(session);
    await reply("getSessionStatus", status(ACTIVE), socket);

    const pause = session.broadcastAction("pauseBroadcast");
    await reply("pauseBroadcast", { type: "error", code: "RATE_LIMIT_EXCEEDED", message: "Too many requests; slow down." }, socket);
    await pause;
    expect(session.getSnapshot()).toMatchObject({ session: SESSION, error: "Too many requests; slow down.", busy: undefined });

    socket.serverSends({ type: "broadcastPaused", sessionId: "old-session-1", broadcastState: { ...ACTIVE, status: "paused" } });
    expect(session.getSnapshot().broadcast).toEqual(ACTIVE);
    socket.serverSends({ type: "broadcastPaused", sessionId: SESSION.sessionId, broadcastState: { ...ACTIVE, status: "paused" } });
    expect(session.getSnapshot().broadcast?.status).toBe("paused");

    socket.serverSends({ type: "sessionEnded", sessionId: SESSION.sessionId, reason: "expired" });
    expect(session.getSnapshot()).toMatchObject({ session: undefined, ended: { sessionId: SESSION.sessionId } });
    session.stop();
  });

  it("stops reconnecting once the sign-in expired, and tells the page", async () => {
    const onSignedOut = vi.fn();
    let signedIn = true;
    const { session } = setup({
      onSignedOut,
      fetchToken: () => Promise.resolve(signedIn ? { status: 200, ok: true, json: async () => ({ token: "tok" }) } : { status: 401, ok: false, json: async () => ({}) }),
    });
    const socket = await connect(session);
    signedIn = false;
    socket.drop(1006);
    await vi.waitFor(() => expect(onSignedOut).toHaveBeenCalledTimes(1));
    await vi.waitFor(() => expect(session.getSnapshot().connection).toBe("closed"));
    expect(FakeSocket.all).toHaveLength(1);
    expect(session.getSnapshot().connectError).toBeUndefined();
    session.stop();
  });

  it("says so when the first connect fails, and Try again connects", async () => {
    const { session } = setup();
    session.start();
    const refused = await vi.waitFor(() => {
      const s = FakeSocket.all.at(-1);
      if (!s) throw new Error("no socket yet");
      return s;
    });
    refused.drop(1006);
    await vi.waitFor(() => expect(session.getSnapshot().connectError).toMatch(/Could not connect to Earshot/));

    session.retryConnect();
    expect(session.getSnapshot().connectError).toBeUndefined();
    const second = await vi.waitFor(() => {
      if (FakeSocket.all.length < 2) throw new Error("no new socket yet");
      return lastSocket();
    });
    second.open();
    await vi.waitFor(() => expect(session.getSnapshot().connection).toBe("open"));
    session.stop();
  });
});
