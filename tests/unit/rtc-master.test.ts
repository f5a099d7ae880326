import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BroadcastMaster, SDP_PER_SECOND } from "@/lib/client/rtc/master";
import { CHROME_OFFER, FakePeerConnection, FakeStream, fakeSignaling, masterChannels, until, type FakeSignalingClient } from "./rtc-fakes";

const offer = { type: "offer", sdp: CHROME_OFFER };

/** Resolves once `client` has sent `n` answers. */
const answered = (client: FakeSignalingClient, n: number) => until(() => client.ofKind("answer").length >= n, `${n} answer(s)`);

function setup(options: { behaviour?: () => "open" | "error" | "manual" } = {}) {
  FakePeerConnection.created = [];
  const signaling = fakeSignaling(options.behaviour);
  const stream = new FakeStream();
  const refreshChannels = vi.fn(async () => masterChannels(1));
  const master = new BroadcastMaster({
    stream: stream.asMediaStream(),
    refreshChannels,
    signaling: signaling.factory,
    createPeerConnection: (c) => new FakePeerConnection(c) as unknown as RTCPeerConnection,
    disconnectGraceMs: 1000,
  });
  const peerCounts: number[] = [];
  master.on("peersChanged", (n) => peerCounts.push(n));
  return { master, signaling, stream, refreshChannels, peerCounts };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("BroadcastMaster", () => {
  it("answers each viewer from a peer connection of its own, and sends candidates only to that viewer", async () => {
    const { master, signaling, peerCounts } = setup();
    await master.setChannels(masterChannels(1));
    const client = signaling.clients[0]!;
    expect(client.target).toMatchObject({ role: "MASTER", channel: { shard: 0 } });

    client.emit("sdpOffer", offer, "v-a");
    client.emit("sdpOffer", offer, "v-b");
    await answered(client, 2);
    expect(FakePeerConnection.created).toHaveLength(2);
    const [pcA, pcB] = FakePeerConnection.created;
    const answers = client.ofKind("answer");
    expect(answers.map((a) => a.recipient).sort()).toEqual(["v-a", "v-b"]);
    expect(answers.every((a) => typeof a.correlationId === "string")).toBe(true);

    pcA!.emitCandidate("candidate:a 1 udp 1 10.0.0.1 5000 typ host");
    pcB!.emitCandidate("candidate:b 1 udp 1 10.0.0.2 5000 typ host");
    const ice = client.ofKind("ice");
    expect(ice).toEqual([
      { kind: "ice", payload: expect.objectContaining({ candidate: expect.stringContaining("candidate:a") }), recipient: "v-a" },
      { kind: "ice", payload: expect.objectContaining({ candidate: expect.stringContaining("candidate:b") }), recipient: "v-b" },
    ]);

    pcA!.setState("connected");
    pcB!.setState("connected");
    expect(master.peerCount).toBe(2);
    expect(peerCounts).toEqual([1, 2]);
  });

  it("sends the mic track one-way and tunes Opus for speech on both descriptions", async () => {
    const { master, signaling, stream } = setup();
    await master.setChannels(masterChannels(1));
    signaling.clients[0]!.emit("sdpOffer", offer, "v-a");
    await answered(signaling.clients[0]!, 1);
    const pc = FakePeerConnection.created[0]!;
    const transceiver = pc.transceivers[0]!;
    // The bitrate cap is the last step of answering.
    await until(() => transceiver.sender.params.encodings[0]!.maxBitrate !== undefined, "the bitrate cap");
    expect(transceiver.direction).toBe("sendonly");
    expect(transceiver.sender.track).toBe(stream.tracks[0]);
    expect(transceiver.sender.params.encodings[0]!.maxBitrate).toBe(32_000);
    expect(pc.remoteDescription?.sdp).toContain("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1;maxaveragebitrate=32000;stereo=0;sprop-stereo=0");
    const sent = signaling.clients[0]!.ofKind("answer")[0]!.payload as RTCSessionDescriptionInit;
    expect(sent.type).toBe("answer");
    expect(sent.sdp).toContain("usedtx=1");
  });

  it("queues a viewer's candidates that arrive before its offer is applied", async () => {
    const { master, signaling } = setup();
    await master.setChannels(masterChannels(1));
    const client = signaling.clients[0]!;
    client.emit("sdpOffer", offer, "v-a");
    client.emit("iceCandidate", { candidate: "candidate:early", sdpMid: "0" }, "v-a");
    client.emit("iceCandidate", { candidate: "candidate:stranger", sdpMid: "0" }, "v-unknown");
    await until(() => FakePeerConnection.created[0]!.addedCandidates.length > 0, "the queued candidate");
    expect(FakePeerConnection.created[0]!.addedCandidates).toEqual([{ candidate: "candidate:early", sdpMid: "0" }]);
  });

  it("replaces a viewer's connection when the same viewer offers again", async () => {
    const { master, signaling } = setup();
    await master.setChannels(masterChannels(1));
    const client = signaling.clients[0]!;
    client.emit("sdpOffer", offer, "v-a");
    await answered(client, 1);
    FakePeerConnection.created[0]!.setState("connected");
    expect(master.peerCount).toBe(1);

    client.emit("sdpOffer", offer, "v-a");
    await answered(client, 2);
    expect(FakePeerConnection.created).toHaveLength(2);
    expect(FakePeerConnection.created[0]!.closed).toBe(true);
    expect(FakePeerConnection.created[1]!.closed).toBe(false);
    FakePeerConnection.created[1]!.setState("connected");
    expect(master.peerCount).toBe(1);
    expect(master.peerConnections()).toHaveLength(1);
  });

  it("closes and forgets a viewer whose connection failed, or stayed disconnected", async () => {
    const { master, signaling, peerCounts } = setup();
    await master.setChannels(masterChannels(1));
    const client = signaling.clients[0]!;
    client.emit("sdpOffer", offer, "v-a");
    client.emit("sdpOffer", offer, "v-b");
    await answered(client, 2);
    const [pcA, pcB] = FakePeerConnection.created;
    pcA!.setState("connected");
    pcB!.setState("connected");

    pcA!.setState("failed");
    expect(pcA!.closed).toBe(true);
    expect(master.peerCount).toBe(1);

    pcB!.setState("disconnected");
    expect(pcB!.closed).toBe(false); // a blip is allowed...
    await vi.advanceTimersByTimeAsync(1000);
    expect(pcB!.closed).toBe(true); // ...a lasting one is not
    expect(master.peerConnections()).toHaveLength(0);
    expect(peerCounts).toEqual([1, 2, 1, 0]);
  });

  it("frees a viewer at once when its DTLS transport closes (the listener closed the page), though ICE still says connected", async () => {
    const { master, signaling, peerCounts } = setup();
    await master.setChannels(masterChannels(1));
    const client = signaling.clients[0]!;
    client.emit("sdpOffer", offer, "v-a");
    await answered(client, 1);
    const [pc] = FakePeerConnection.created;
    pc!.setState("connected");
    expect(master.peerCount).toBe(1);
    pc!.transceivers[0]!.sender.transport.setState("closed");
    expect(pc!.closed).toBe(true);
    expect(master.peerConnections()).toHaveLength(0);
    expect(peerCounts).toEqual([1, 0]);
  });

  it("mute and pause disable the track without renegotiating", async () => {
    const { master, signaling, stream } = setup();
    await master.setChannels(masterChannels(1));
    signaling.clients[0]!.emit("sdpOffer", offer, "v-a");
    await answered(signaling.clients[0]!, 1);
    const pc = FakePeerConnection.created[0]!;
    expect(pc.createAnswerCalls).toBe(1);

    master.setMuted(true);
    expect(stream.tracks[0]!.enabled).toBe(false);
    master.setPaused(true);
    master.setMuted(false);
    expect(stream.tracks[0]!.enabled).toBe(false); // still paused
    master.setPaused(false);
    expect(stream.tracks[0]!.enabled).toBe(true);
    expect(pc.createAnswerCalls).toBe(1);
    expect(signaling.clients[0]!.ofKind("offer")).toHaveLength(0);
  });

  it("becomes master of new shards as they are pushed, keeping the connected ones", async () => {
    const { master, signaling } = setup();
    await master.setChannels(masterChannels(1));
    expect(signaling.clients).toHaveLength(1);
    await master.setChannels(masterChannels(2));
    expect(signaling.clients.map((c) => c.target.channel.shard)).toEqual([0, 1]);
    expect(signaling.clients[0]!.closed).toBe(false);
    expect(master.channelStatus.map((c) => [c.shard, c.state])).toEqual([
      [0, "open"],
      [1, "open"],
    ]);
    // A viewer of shard 1 is answered on shard 1's connection.
    signaling.clients[1]!.emit("sdpOffer", offer, "v-11");
    await answered(signaling.clients[1]!, 1);
    expect(signaling.clients[1]!.ofKind("answer")[0]!.recipient).toBe("v-11");
    expect(signaling.clients[0]!.ofKind("answer")).toHaveLength(0);
  });

  it("paces answers under the KVS limit of 5 per second per connection", async () => {
    const { master, signaling } = setup();
    await master.setChannels(masterChannels(1));
    const client = signaling.clients[0]!;
    for (let i = 0; i < 8; i++) client.emit("sdpOffer", offer, `v-${i}`);
    // Every viewer's answer is ready; only the first second's worth went out.
    await until(() => FakePeerConnection.created.filter((pc) => pc.localDescription).length === 8, "8 answers made");
    expect(client.ofKind("answer")).toHaveLength(SDP_PER_SECOND);
    expect(SDP_PER_SECOND).toBeLessThan(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.ofKind("answer")).toHaveLength(8);
  });

  it("reconnects a dropped signaling channel with backoff; connected viewers keep their audio", async () => {
    const { master, signaling } = setup();
    await master.setChannels(masterChannels(1));
    const first = signaling.clients[0]!;
    first.emit("sdpOffer", offer, "v-a");
    await answered(first, 1);
    FakePeerConnection.created[0]!.setState("connected");

    first.drop(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(master.channelStatus[0]!.state).toBe("reconnecting");
    expect(master.peerCount).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(signaling.clients).toHaveLength(2);
    expect(master.channelStatus[0]!.state).toBe("open");
    expect(FakePeerConnection.created[0]!.closed).toBe(false);
  });

  it("stops when another page became master of the channel (closed with 4001), instead of fighting it", async () => {
    const { master, signaling } = setup();
    const errors: string[] = [];
    master.on("error", (e) => errors.push(e.message));
    await master.setChannels(masterChannels(1));
    signaling.clients[0]!.drop(4001);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(signaling.clients).toHaveLength(1);
    expect(master.channelStatus[0]!.state).toBe("closed");
    expect(errors).toEqual([expect.stringMatching(/Another page took over/)]);
  });

  it("rejects setChannels when a channel cannot be opened at all", async () => {
    const { master, signaling } = setup({ behaviour: () => "error" });
    const ready = master.setChannels(masterChannels(1));
    const settled = ready.then(
      () => "resolved",
      (e: Error & { code?: string }) => e.code,
    );
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await settled).toBe("SIGNALING_FAILED");
    // The channel itself keeps trying (a shard added later must not be given up on).
    const attempts = signaling.clients.length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(signaling.clients.length).toBeGreaterThan(attempts);
    master.close();
  });

  it("close() closes every peer connection and signaling connection", async () => {
    const { master, signaling } = setup();
    await master.setChannels(masterChannels(2));
    signaling.clients[0]!.emit("sdpOffer", offer, "v-a");
    signaling.clients[1]!.emit("sdpOffer", offer, "v-b");
    await answered(signaling.clients[0]!, 1);
    await answered(signaling.clients[1]!, 1);
    master.close();
    expect(FakePeerConnection.created.every((pc) => pc.closed)).toBe(true);
    expect(signaling.clients.every((c) => c.closed)).toBe(true);
  });
});
