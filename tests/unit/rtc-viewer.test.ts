import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DefaultReconnectPolicy } from "@/lib/client/control-channel";
import { ListenerConnection, type ListenerMediaState } from "@/lib/client/rtc/viewer";
import { FakePeerConnection, FakeStream, fakeSignaling, progress, until, viewerChannel } from "./rtc-fakes";

function setup(options: { behaviour?: () => "open" | "error" | "manual"; requestChannel?: () => Promise<ReturnType<typeof viewerChannel>>; isFatal?: (e: unknown) => boolean } = {}) {
  FakePeerConnection.created = [];
  const signaling = fakeSignaling(options.behaviour);
  const requestChannel = vi.fn(options.requestChannel ?? (async () => viewerChannel("v-1")));
  const viewer = new ListenerConnection({
    requestChannel,
    signaling: signaling.factory,
    createPeerConnection: (c) => new FakePeerConnection(c) as unknown as RTCPeerConnection,
    reconnectPolicy: new DefaultReconnectPolicy({ baseDelayMs: 200, maxDelayMs: 2000, maxElapsedMs: 20_000, random: () => 0.5 }),
    random: () => 0.5,
    connectTimeoutMs: 5000,
    disconnectGraceMs: 1000,
    isFatal: options.isFatal,
  });
  const states: ListenerMediaState[] = [];
  viewer.on("stateChanged", (s) => {
    states.push(s);
    progress();
  });
  const streams: (MediaStream | undefined)[] = [];
  viewer.on("stream", (s) => streams.push(s));
  return { viewer, signaling, requestChannel, states, streams };
}

/** Resolves once the `n`-th signaling client (1-based) has sent its offer. */
const offered = (signaling: ReturnType<typeof fakeSignaling>, n = 1) =>
  until(() => (signaling.clients[n - 1]?.ofKind("offer").length ?? 0) > 0, `an offer on signaling connection ${n}`);

/** Answers the latest connection's offer (once it is out) and brings the peer connection up. */
async function answerAndConnect(signaling: ReturnType<typeof fakeSignaling>) {
  await until(() => (signaling.clients.at(-1)?.ofKind("offer").length ?? 0) > 0, "an offer on the latest signaling connection");
  const client = signaling.clients.at(-1)!;
  const pc = FakePeerConnection.created.at(-1)!;
  client.emit("sdpAnswer", { type: "answer", sdp: "v=0 answer" });
  await until(() => pc.remoteDescription?.type === "answer", "the answer applied");
  pc.emitTrack(new FakeStream());
  pc.setState("connected");
  return { client, pc };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ListenerConnection", () => {
  it("asks for its channel, offers receive-only audio as VIEWER, applies the answer and goes live", async () => {
    const { viewer, signaling, requestChannel, states, streams } = setup();
    viewer.start();
    await offered(signaling);
    expect(requestChannel).toHaveBeenCalledTimes(1);
    const client = signaling.clients[0]!;
    expect(client.target).toMatchObject({ role: "VIEWER", clientId: "v-1", channel: { shard: 0 } });
    const pc = FakePeerConnection.created[0]!;
    expect(pc.transceivers.map((t) => t.direction)).toEqual(["recvonly"]);
    const offers = client.ofKind("offer");
    expect(offers).toHaveLength(1);
    expect(offers[0]!.payload).toMatchObject({ type: "offer" });
    expect(offers[0]!.recipient).toBeUndefined();

    // Candidates gathered before the offer went out follow it; later ones go at once.
    pc.emitCandidate("candidate:1 1 udp 1 10.0.0.1 5000 typ host");
    expect(client.ofKind("ice")).toHaveLength(1);

    // The master's candidates that come before its answer wait for it.
    client.emit("iceCandidate", { candidate: "candidate:m1", sdpMid: "0" });
    expect(pc.addedCandidates).toHaveLength(0);
    await answerAndConnect(signaling);
    await until(() => pc.addedCandidates.length > 0, "the queued candidate added");
    expect(pc.remoteDescription).toEqual({ type: "answer", sdp: "v=0 answer" });
    expect(pc.addedCandidates).toEqual([{ candidate: "candidate:m1", sdpMid: "0" }]);
    expect(states).toEqual(["connecting", "live"]);
    expect(streams).toHaveLength(1);
    expect(viewer.state).toBe("live");
  });

  it("retries with backoff when the signaling connect is refused, then connects", async () => {
    let n = 0;
    const { viewer, signaling, states } = setup({ behaviour: () => (n++ < 2 ? "error" : "open") });
    viewer.start();
    await until(() => states.length === 2, "the refused connect");
    expect(states).toEqual(["connecting", "reconnecting"]);
    expect(signaling.clients).toHaveLength(1);
    // Full jitter at 0.5: the first retry waits 100 ms, the second 200 ms.
    await vi.advanceTimersByTimeAsync(99);
    expect(signaling.clients).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => signaling.clients.length === 2 && signaling.clients[1]!.closed, "the second connect refused");
    await vi.advanceTimersByTimeAsync(200);
    await until(() => signaling.clients.length === 3, "the third connect");
    expect(signaling.clients[0]!.closed && signaling.clients[1]!.closed).toBe(true);
    await answerAndConnect(signaling);
    expect(viewer.state).toBe("live");
  });

  it("offers again when the relay says the channel has no master yet", async () => {
    const { viewer, signaling } = setup();
    viewer.start();
    await offered(signaling);
    const client = signaling.clients[0]!;
    const first = client.ofKind("offer")[0]!;
    client.emit("statusResponse", {
      correlationId: first.correlationId,
      success: false,
      errorType: "ResourceNotFoundException",
      statusCode: "404",
    });
    expect(client.ofKind("offer")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(client.ofKind("offer")).toHaveLength(2);
    expect(client.ofKind("offer")[1]!.correlationId).not.toBe(first.correlationId);
    await answerAndConnect(signaling);
    expect(viewer.state).toBe("live");
    expect(signaling.clients).toHaveLength(1);
  });

  it("rebuilds the connection when it fails, and when it stays disconnected", async () => {
    const { viewer, signaling, states } = setup();
    viewer.start();
    const { pc } = await answerAndConnect(signaling);
    pc.setState("failed");
    expect(pc.closed).toBe(true);
    expect(viewer.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(100);
    await until(() => signaling.clients.length === 2, "the second connect");
    const second = await answerAndConnect(signaling);
    expect(viewer.state).toBe("live");

    second.pc.setState("disconnected");
    expect(viewer.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(999);
    expect(second.pc.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(second.pc.closed).toBe(true);
    expect(states).toEqual(["connecting", "live", "reconnecting", "live", "reconnecting"]);
  });

  it("gives up the attempt when no answer comes in time", async () => {
    const { viewer, signaling } = setup();
    viewer.start();
    await offered(signaling);
    await vi.advanceTimersByTimeAsync(5000);
    expect(FakePeerConnection.created[0]!.closed).toBe(true);
    expect(viewer.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(100);
    await until(() => signaling.clients.length === 2, "the second connect");
  });

  it("keeps the audio when the signaling connection closes after it is live", async () => {
    const { viewer, signaling } = setup();
    viewer.start();
    const { client, pc } = await answerAndConnect(signaling);
    client.emit("close");
    expect(viewer.state).toBe("live");
    expect(pc.closed).toBe(false);
  });

  it("restart() offers again from scratch (the speaker came back)", async () => {
    const { viewer, signaling, requestChannel } = setup();
    viewer.start();
    const { pc } = await answerAndConnect(signaling);
    viewer.restart();
    await until(() => signaling.clients.length === 2, "the new connect");
    expect(pc.closed).toBe(true);
    expect(requestChannel).toHaveBeenCalledTimes(2);
    expect(signaling.clients).toHaveLength(2);
    expect(viewer.state).toBe("reconnecting");
    await answerAndConnect(signaling);
    expect(viewer.state).toBe("live");
  });

  it("start() while connecting or live does nothing; stop() closes everything", async () => {
    const { viewer, signaling, streams } = setup();
    viewer.start();
    viewer.start();
    await offered(signaling);
    expect(signaling.clients).toHaveLength(1);
    const { client, pc } = await answerAndConnect(signaling);
    viewer.start();
    expect(signaling.clients).toHaveLength(1);
    viewer.stop();
    expect(pc.closed).toBe(true);
    expect(client.closed).toBe(true);
    expect(viewer.state).toBe("idle");
    expect(streams.at(-1)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(signaling.clients).toHaveLength(1);
  });

  it("stops retrying on a fatal error (the session ended)", async () => {
    const ended = Object.assign(new Error("ended"), { code: "SESSION_INACTIVE" });
    const { viewer, requestChannel } = setup({
      requestChannel: async () => {
        throw ended;
      },
      isFatal: (e) => e === ended,
    });
    viewer.start();
    await until(() => viewer.state === "failed", "the fatal error");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(requestChannel).toHaveBeenCalledTimes(1);
  });

  it("fails for good once the backoff policy gives up", async () => {
    const { viewer } = setup({ behaviour: () => "error" });
    viewer.start();
    await vi.advanceTimersByTimeAsync(30_000);
    await until(() => viewer.state === "failed", "giving up");
  });
});
