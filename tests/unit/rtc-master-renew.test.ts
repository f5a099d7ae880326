import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BroadcastMaster } from "@/lib/client/rtc/master";
import { CHROME_OFFER, FakePeerConnection, FakeStream, fakeSignaling, masterChannels, until } from "./rtc-fakes";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("BroadcastMaster signaling renewal", () => {
  it("renews a signaling connection before its cap (make-before-break); peer connections and state untouched", async () => {
    FakePeerConnection.created = [];
    const signaling = fakeSignaling();
    const master = new BroadcastMaster({
      stream: new FakeStream().asMediaStream(),
      refreshChannels: async () => masterChannels(1),
      signaling: signaling.factory,
      createPeerConnection: (c) => new FakePeerConnection(c) as unknown as RTCPeerConnection,
      renewSignalingAfterMs: 15_000,
    });
    const errors: string[] = [];
    master.on("error", (e) => errors.push(e.message));
    await master.setChannels(masterChannels(1));
    const first = signaling.clients[0]!;
    first.emit("sdpOffer", { type: "offer", sdp: CHROME_OFFER }, "v-a");
    await until(() => first.ofKind("answer").length === 1, "the answer");
    FakePeerConnection.created[0]!.setState("connected");

    await vi.advanceTimersByTimeAsync(14_000);
    expect(signaling.clients).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(signaling.clients).toHaveLength(2);
    expect(first.closed).toBe(true); // closed once the new one is open
    expect(master.channelStatus[0]!.state).toBe("open");
    // The relay's 4001 for the old connection (a newer master) belongs to an older generation: ignored.
    first.drop(4001);
    await vi.advanceTimersByTimeAsync(0);
    expect(master.channelStatus[0]!.state).toBe("open");
    expect(errors).toEqual([]);
    expect(master.peerCount).toBe(1);
    expect(FakePeerConnection.created[0]!.closed).toBe(false);
    // The next renewal is armed on the new connection.
    await vi.advanceTimersByTimeAsync(15_001);
    expect(signaling.clients).toHaveLength(3);
    master.close();
  });
});
