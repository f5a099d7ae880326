import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DefaultReconnectPolicy } from "@/lib/client/control-channel";
import { ListenerConnection } from "@/lib/client/rtc/viewer";
import { closeWarmPeer, takeWarmPeer, warmPeerConnection } from "@/lib/client/rtc/warm-peer";
import { FakePeerConnection, fakeSignaling, until, viewerChannel } from "./rtc-fakes";

/** The peer connection made before the tap (embedded: its configuration is known) and the viewer that takes it. */

const fake = (c: RTCConfiguration) => new FakePeerConnection(c) as unknown as RTCPeerConnection;

function viewer(signaling: ReturnType<typeof fakeSignaling>) {
  return new ListenerConnection({
    requestChannel: async () => viewerChannel("v-1"),
    signaling: signaling.factory,
    createPeerConnection: fake,
    reconnectPolicy: new DefaultReconnectPolicy({ baseDelayMs: 200, maxDelayMs: 2000, maxElapsedMs: 20_000, random: () => 0.5 }),
    random: () => 0.5,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  FakePeerConnection.created = [];
  vi.stubGlobal("RTCPeerConnection", FakePeerConnection);
});
afterEach(() => {
  closeWarmPeer();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("warm peer connection", () => {
  it("is made once, with its receive-only transceiver and offer, and the viewer offers with it and sends what it gathered", async () => {
    warmPeerConnection({ iceServers: [] }, fake);
    warmPeerConnection({ iceServers: [] }, fake);
    expect(FakePeerConnection.created).toHaveLength(1);
    const warm = FakePeerConnection.created[0]!;
    expect(warm.transceivers.map((t) => t.direction)).toEqual(["recvonly"]);
    await until(() => warm.localDescription?.type === "offer", "the warm offer set");
    warm.emitCandidate("candidate:1 1 udp 1 10.0.0.1 5000 typ host");

    const signaling = fakeSignaling();
    const v = viewer(signaling);
    v.start();
    await until(() => (signaling.clients[0]?.ofKind("offer").length ?? 0) > 0, "the offer");
    // No second peer connection: the warm one was taken, with its one transceiver.
    expect(FakePeerConnection.created).toHaveLength(1);
    expect(warm.transceivers).toHaveLength(1);
    expect(signaling.clients[0]!.ofKind("offer")[0]!.payload).toMatchObject({ type: "offer" });
    // The candidate gathered before the tap follows the offer; later ones go at once.
    await until(() => signaling.clients[0]!.ofKind("ice").length === 1, "the early candidate sent");
    warm.emitCandidate("candidate:2 1 udp 1 10.0.0.2 5000 typ host");
    await until(() => signaling.clients[0]!.ofKind("ice").length === 2, "a later candidate sent");
    // It is the viewer's now: nothing is left to take.
    expect(takeWarmPeer({ iceServers: [] })).toBeUndefined();
    v.stop();
    expect(warm.closed).toBe(true);
  });

  it("is closed, not used, when the grant brings another configuration (the cloud's TURN servers)", async () => {
    warmPeerConnection({ iceServers: [] }, fake);
    const warm = FakePeerConnection.created[0]!;
    const turn: RTCConfiguration = { iceServers: [{ urls: "turn:turn.example:443", username: "u", credential: "c" }] };
    expect(takeWarmPeer(turn)).toBeUndefined();
    expect(warm.closed).toBe(true);
    // And a new one can be made later.
    warmPeerConnection({ iceServers: [] }, fake);
    expect(FakePeerConnection.created).toHaveLength(2);
  });
});
