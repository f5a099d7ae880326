import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ControlChannel, DefaultReconnectPolicy, replacementDelayMs, type ConnectionState } from "@/lib/client/control-channel";
import { FakeSocket } from "./support/fake-socket";

async function openChannel(extra: Partial<ConstructorParameters<typeof ControlChannel>[0]> = {}) {
  const states: ConnectionState[] = [];
  const events: string[] = [];
  const ch = new ControlChannel({
    url: "ws://localhost:3000/ws",
    createWebSocket: (url) => new FakeSocket(url),
    reconnectPolicy: new DefaultReconnectPolicy({ random: () => 0.5 }),
    onStateChange: (s) => states.push(s),
    ...extra,
  });
  ch.on("reconnected", () => events.push("reconnected"));
  ch.on("disconnected", (info) => events.push(`disconnected ${info.code}`));
  const opened = ch.connect();
  await vi.advanceTimersByTimeAsync(0);
  FakeSocket.all[0]!.open();
  await opened;
  return { ch, states, events };
}

describe("replacementDelayMs", () => {
  it("keeps a margin of a quarter of the cap, at most 5 minutes, minus a little jitter", () => {
    expect(replacementDelayMs(7_200_000, () => 0)).toBe(6_900_000);
    expect(replacementDelayMs(20_000, () => 0)).toBe(15_000);
    expect(replacementDelayMs(20_000, () => 0.999)).toBeGreaterThan(14_400);
    expect(replacementDelayMs(3_600_000, () => 0)).toBe(3_300_000);
  });
});

describe("ControlChannel before the server's connection cap", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("opens a new socket, swaps to it and emits reconnected, without ever leaving open (make-before-break)", async () => {
    const { ch, states, events } = await openChannel({ maxConnectionMs: 20_000 });
    const first = FakeSocket.all[0]!;
    await vi.advanceTimersByTimeAsync(14_000);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(FakeSocket.all).toHaveLength(2);
    const second = FakeSocket.all[1]!;
    // Until the new socket is open, requests still go over the old one.
    expect(ch.state).toBe("open");
    second.open();
    expect(events).toEqual(["reconnected"]);
    // The page re-joins over the new socket; a reply still in flight on the old one is read.
    const pending = ch.request({ action: "heartbeat" });
    expect(second.sent[0]).toMatchObject({ action: "heartbeat" });
    first.serverSends({ type: "heartbeatAck", requestId: second.sent[0]!.requestId });
    await expect(pending).resolves.toMatchObject({ type: "heartbeatAck" });
    // The server replaces the old connection (4000): expected, not a drop.
    first.drop(4000, "replaced by a newer connection");
    expect(states).toEqual(["connecting", "open"]);
    expect(events).toEqual(["reconnected"]);
    ch.close();
  });

  it("closes the replaced socket itself after a short grace when the server does not", async () => {
    const { ch, events } = await openChannel({ maxConnectionMs: 20_000 });
    const first = FakeSocket.all[0]!;
    await vi.advanceTimersByTimeAsync(15_001);
    FakeSocket.all[1]!.open();
    expect(first.closedWith).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(first.closedWith?.code).toBe(1000);
    expect(events).toEqual(["reconnected"]);
    ch.close();
  });

  it("keeps the old socket when the new one cannot open; the cap's 1001 then reconnects at once", async () => {
    const { ch, states } = await openChannel({ maxConnectionMs: 20_000 });
    const first = FakeSocket.all[0]!;
    await vi.advanceTimersByTimeAsync(15_001);
    FakeSocket.all[1]!.drop(1006);
    expect(ch.state).toBe("open");
    first.drop(1001, "connection lifetime reached");
    expect(ch.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(3); // no backoff wait before the first retry
    FakeSocket.all[2]!.open();
    expect(states).toEqual(["connecting", "open", "reconnecting", "open"]);
    ch.close();
  });

  it("retries within a short random spread after a server restart (1012), then backs off", async () => {
    const { ch } = await openChannel(); // random() = 0.5: the spread's draw is 500 ms
    FakeSocket.all[0]!.drop(1012, "server restart");
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.all).toHaveLength(1); // not the whole crowd at the same instant
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.drop(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(2); // the second retry waits (full jitter)
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeSocket.all).toHaveLength(3);
    ch.close();
  });
});
