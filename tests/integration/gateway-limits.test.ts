import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { TestClient, speakerToken, startTestRuntime } from "./harness";

/** The embedded gateway's per-connection message budget (API Gateway's stage throttling in the cloud). */

let runtime: EmbeddedRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime({ EARSHOT_LIMIT_MESSAGES_PER_10S: "5" });
});

afterAll(async () => {
  await runtime?.close();
});

describe("messages per connection", () => {
  it("answers a burst up to the budget and refuses the rest with RATE_LIMIT_EXCEEDED, without closing", async () => {
    const speaker = await TestClient.connect(runtime, { token: await speakerToken(runtime) });
    for (let i = 0; i < 8; i++) speaker.send({ action: "heartbeat", requestId: `h${i}` });
    const acks = await Promise.all(Array.from({ length: 5 }, () => speaker.next("heartbeatAck")));
    const errors = await Promise.all(Array.from({ length: 3 }, () => speaker.next("error")));
    expect(acks.map((a) => a.requestId).sort()).toEqual(["h0", "h1", "h2", "h3", "h4"]);
    expect(errors.every((e) => e.code === "RATE_LIMIT_EXCEEDED")).toBe(true);
    expect(speaker.ws.readyState).toBe(speaker.ws.OPEN);
    await speaker.close();
  });
});
