import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ControlChannel,
  ControlChannelError,
  DefaultReconnectPolicy,
  type ConnectionState,
} from "@/lib/client/control-channel";
import { FakeSocket } from "./support/fake-socket";

describe("DefaultReconnectPolicy", () => {
  it("draws each wait uniformly below an exponentially growing ceiling (full jitter)", () => {
    const policy = new DefaultReconnectPolicy({ baseDelayMs: 500, maxDelayMs: 10_000, random: () => 0.999999 });
    const waits = [0, 1, 2, 3, 4, 5, 6].map((retryCount) => policy.nextRetryDelayMs({ retryCount, elapsedMs: 120_000 }));
    expect(waits).toEqual([499, 999, 1999, 3999, 7999, 9999, 9999]);
    const low = new DefaultReconnectPolicy({ random: () => 0 });
    expect(low.nextRetryDelayMs({ retryCount: 5, elapsedMs: 0 })).toBe(0);
  });

  it("keeps the ceiling at 1.5 s for the first two minutes after a drop (a restarted server is found quickly), then lets it grow", () => {
    const policy = new DefaultReconnectPolicy({ random: () => 0.999999 });
    const early = [0, 1, 2, 3, 8].map((retryCount) => policy.nextRetryDelayMs({ retryCount, elapsedMs: 119_999 }));
    expect(early).toEqual([499, 999, 1499, 1499, 1499]);
    expect(policy.nextRetryDelayMs({ retryCount: 8, elapsedMs: 120_000 })).toBe(9999);
  });

  it("spreads the first retry after a server restart (1012) over 1 s; other codes' first retry keeps its ceiling", () => {
    const waits = [0, 0.25, 0.5, 0.999999].map((r) => new DefaultReconnectPolicy({ random: () => r }).nextRetryDelayMs({ retryCount: 0, elapsedMs: 0, closeCode: 1012 }));
    expect(waits).toEqual([0, 250, 500, 999]);
    expect(new DefaultReconnectPolicy({ random: () => 0.999999 }).nextRetryDelayMs({ retryCount: 0, elapsedMs: 0, closeCode: 1006 })).toBe(499);
    expect(new DefaultReconnectPolicy({ random: () => 0.999999 }).nextRetryDelayMs({ retryCount: 1, elapsedMs: 0, closeCode: 1012 })).toBe(999);
  });

  it("caps the ceiling at about 10 s by default", () => {
    const policy = new DefaultReconnectPolicy();
    for (let n = 0; n < 100; n++) {
      const wait = policy.nextRetryDelayMs({ retryCount: n, elapsedMs: 0 })!;
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(10_000);
    }
    expect(policy.ceilingMs(1000)).toBe(10_000);
  });

  it("gives up by count or by time", () => {
    const policy = new DefaultReconnectPolicy({ maxRetries: 3, maxElapsedMs: 60_000 });
    expect(policy.nextRetryDelayMs({ retryCount: 2, elapsedMs: 0 })).not.toBeNull();
    expect(policy.nextRetryDelayMs({ retryCount: 3, elapsedMs: 0 })).toBeNull();
    expect(policy.nextRetryDelayMs({ retryCount: 0, elapsedMs: 60_000 })).toBeNull();
  });
});

const last = () => FakeSocket.all.at(-1)!;

function channel(extra: Partial<ConstructorParameters<typeof ControlChannel>[0]> = {}) {
  const states: ConnectionState[] = [];
  const ch = new ControlChannel({
    url: "ws://localhost:3000/ws",
    createWebSocket: (url) => new FakeSocket(url),
    reconnectPolicy: new DefaultReconnectPolicy({ random: () => 0.5 }),
    onStateChange: (s) => states.push(s),
    ...extra,
  });
  return { ch, states };
}

describe("ControlChannel", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("connects with the query and resolves requests by requestId", async () => {
    const { ch, states } = channel({ query: { sessionId: "quiet-harbor-042", targetLanguage: "de" } });
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    expect(last().url).toBe("ws://localhost:3000/ws?sessionId=quiet-harbor-042&targetLanguage=de");
    last().open();
    await opened;
    expect(states).toEqual(["connecting", "open"]);

    const messages: string[] = [];
    ch.on("message", (m) => messages.push(m.type));
    const reply = ch.request({ action: "joinSession", sessionId: "quiet-harbor-042", targetLanguage: "de" });
    const sent = last().sent[0]!;
    expect(sent).toMatchObject({ action: "joinSession", sessionId: "quiet-harbor-042" });
    expect(typeof sent.requestId).toBe("string");
    last().serverSends({ type: "sessionStatus", sessionId: "x", requestId: "someone-else" });
    last().serverSends({ type: "sessionJoined", requestId: sent.requestId, sessionId: "quiet-harbor-042" });
    await expect(reply).resolves.toMatchObject({ type: "sessionJoined" });
    expect(messages).toEqual(["sessionStatus", "sessionJoined"]);
  });

  it("rejects a request with the server's error code and message", async () => {
    const { ch } = channel();
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    await opened;
    const reply = ch.request({ action: "changeLanguage", targetLanguage: "xx" });
    const { requestId } = last().sent[0]!;
    last().serverSends({ type: "error", requestId, code: "UNSUPPORTED_LANGUAGE", message: "That language is not supported." });
    await expect(reply).rejects.toMatchObject({ code: "UNSUPPORTED_LANGUAGE", message: "That language is not supported." });
  });

  it("times out requests and refuses to send while not open", async () => {
    const { ch } = channel({ requestTimeoutMs: 1000 });
    expect(() => ch.send({ action: "heartbeat" })).toThrow(ControlChannelError);
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    await opened;
    const reply = ch.request({ action: "getSessionStatus" });
    const check = expect(reply).rejects.toMatchObject({ code: "TIMEOUT" });
    await vi.advanceTimersByTimeAsync(1000);
    await check;
  });

  it("rejects connect() when the first socket cannot open", async () => {
    const { ch, states } = channel();
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().drop(1006);
    await expect(opened).rejects.toMatchObject({ code: "CONNECT_FAILED" });
    expect(states).toEqual(["connecting", "closed"]);
  });

  it("reconnects after a drop with a fresh query, then emits reconnected", async () => {
    let n = 0;
    const { ch, states } = channel({ query: () => ({ token: `t${++n}` }) });
    const reconnected = vi.fn();
    ch.on("reconnected", reconnected);
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    await opened;
    const pending = ch.request({ action: "getSessionStatus" });
    const check = expect(pending).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
    last().drop(1006);
    await check;
    expect(ch.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(250); // 0.5 * 500 ms
    expect(FakeSocket.all).toHaveLength(2);
    expect(last().url).toContain("token=t2");
    last().drop(1006); // the first retry fails too
    await vi.advanceTimersByTimeAsync(500); // 0.5 * 1000 ms
    expect(FakeSocket.all).toHaveLength(3);
    last().open();
    expect(states).toEqual(["connecting", "open", "reconnecting", "open"]);
    expect(reconnected).toHaveBeenCalledTimes(1);
  });

  it("stops when the server closes normally (1000) or shouldReconnect says no", async () => {
    const { ch } = channel();
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    await opened;
    const disconnected = vi.fn();
    ch.on("disconnected", disconnected);
    last().drop(1000, "session ended");
    expect(ch.state).toBe("closed");
    expect(disconnected).toHaveBeenCalledWith({ code: 1000, reason: "session ended", willReconnect: false });

    const second = channel({ shouldReconnect: async () => false });
    const p = second.ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    await p;
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(second.ch.state).toBe("closed");
    expect(second.states).toEqual(["connecting", "open", "reconnecting", "closed"]);
  });

  it("sends a heartbeat every minute and replaces a socket that stops answering", async () => {
    const { ch } = channel();
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    const first = last();
    first.open();
    await opened;
    await vi.advanceTimersByTimeAsync(60_000);
    const beat = first.sent.at(-1)!;
    expect(beat.action).toBe("heartbeat");
    first.serverSends({ type: "heartbeatAck", requestId: beat.requestId, timestamp: 1 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(first.sent.filter((m) => m.action === "heartbeat")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(15_000); // no ack this time
    expect(first.closedWith?.code).toBe(4000);
    expect(ch.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("close() stops everything", async () => {
    const { ch } = channel();
    const opened = ch.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    await opened;
    ch.close();
    expect(last().closedWith?.code).toBe(1000);
    expect(ch.state).toBe("closed");
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
