import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EarshotError } from "@/lib/core/errors";
import {
  SIGNALING_LIMITS,
  TokenBucket,
  assignShard,
  channelName,
  embeddedChannelArn,
  isEmbeddedChannelArn,
  parseChannelArn,
  parseChannelName,
  parseClientFrame,
  rateClass,
  statusResponseEvent,
  refusal,
} from "@/lib/core/signaling";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

describe("channelName / parseChannelName", () => {
  it("builds prefix + session id + shard", () => {
    expect(channelName("earshot-", "quiet-harbor-042", 0)).toBe("earshot-quiet-harbor-042-0");
    expect(channelName("x.", "abc", 12)).toBe("x.abc-12");
  });

  it("parses what it built, even though session ids contain hyphens", () => {
    expect(parseChannelName("earshot-", "earshot-quiet-harbor-042-3")).toEqual({ sessionId: "quiet-harbor-042", shard: 3 });
  });

  it("round-trips for any valid prefix, session id and shard", () => {
    const chars = fc.constantFrom(..."abcXYZ019_.-".split(""));
    fc.assert(
      fc.property(
        fc.string({ unit: chars, minLength: 0, maxLength: 40 }),
        fc.string({ unit: chars, minLength: 1, maxLength: 60 }),
        fc.nat({ max: 10_000 }),
        (prefix, sessionId, shard) => {
          const name = channelName(prefix, sessionId, shard);
          expect(parseChannelName(prefix, name)).toEqual({ sessionId, shard });
        },
      ),
    );
  });

  it("refuses names KVS would refuse", () => {
    expect(() => channelName("earshot-", "a b", 0)).toThrow(EarshotError);
    expect(() => channelName("earshot-", "ä", 0)).toThrow(/letters, digits/);
    expect(() => channelName("earshot-", "a".repeat(260), 0)).toThrow(/256/);
    expect(() => channelName("earshot-", "", 0)).toThrow(/empty/);
    expect(() => channelName("earshot-", "abc", -1)).toThrow(/non-negative/);
    expect(() => channelName("earshot-", "abc", 1.5)).toThrow(/non-negative/);
    expect(() => channelName("earshot-", "abc", Number.NaN)).toThrow(/non-negative/);
    try {
      channelName("earshot-", "a/b", 0);
      expect.unreachable();
    } catch (error) {
      expect((error as EarshotError).code).toBe("INVALID_PARAMETER");
    }
  });

  it("rejects names that channelName cannot have produced", () => {
    expect(parseChannelName("earshot-", "other-quiet-harbor-042-0")).toBeUndefined();
    expect(parseChannelName("earshot-", "earshot-quiet-harbor-042")).toBeUndefined(); // "042" is not a shard number
    expect(parseChannelName("earshot-", "earshot--0")).toBeUndefined();
    expect(parseChannelName("earshot-", "earshot-abc-01")).toBeUndefined();
    expect(parseChannelName("earshot-", "earshot-abc-x")).toBeUndefined();
    expect(parseChannelName("earshot-", "earshot-a b-0")).toBeUndefined();
    expect(parseChannelName("earshot-", "earshot-abc-99999999999999999")).toBeUndefined();
  });
});

describe("channel ARNs", () => {
  it("builds embedded ARNs and parses them back", () => {
    const arn = embeddedChannelArn("earshot-abc-0");
    expect(arn).toBe("arn:aws:kinesisvideo:local:000000000000:channel/earshot-abc-0/0");
    expect(parseChannelArn(arn)).toEqual({
      partition: "aws",
      region: "local",
      accountId: "000000000000",
      channelName: "earshot-abc-0",
      creationTime: "0",
    });
    expect(isEmbeddedChannelArn(arn)).toBe(true);
  });

  it("parses real KVS channel ARNs", () => {
    expect(parseChannelArn("arn:aws:kinesisvideo:eu-west-1:123456789012:channel/earshot-pure-psalm-481-1/1700000000000")).toEqual({
      partition: "aws",
      region: "eu-west-1",
      accountId: "123456789012",
      channelName: "earshot-pure-psalm-481-1",
      creationTime: "1700000000000",
    });
    expect(parseChannelArn("arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/c/1")?.partition).toBe("aws-cn");
    expect(isEmbeddedChannelArn("arn:aws:kinesisvideo:eu-west-1:123456789012:channel/c/1")).toBe(false);
  });

  it("rejects malformed ARNs", () => {
    for (const arn of [
      "",
      "channel/x/0",
      "arn:aws:kinesisvideo:local:000000000000:stream/x/0",
      "arn:aws:kinesisvideo:local:000000000000:channel/x",
      "arn:aws:kinesisvideo:local:000000000000:channel/x/y",
      "arn:aws:kinesisvideo:local:000000000000:channel/a b/0",
      "arn:aws:kinesisvideo:local:000000000000:channel/x/0/extra",
      "arn:aws:s3:local:000000000000:channel/x/0",
      "arn:aws:kinesisvideo:LOCAL:000000000000:channel/x/0",
      "arn:aws:kinesisvideo:local:acct:channel/x/0",
      `arn:aws:kinesisvideo:local:000000000000:channel/${"a".repeat(257)}/0`,
      `arn:aws:kinesisvideo:local:${"1".repeat(1000)}:channel/x/0`,
    ]) {
      expect(parseChannelArn(arn), arn).toBeUndefined();
      expect(isEmbeddedChannelArn(arn), arn).toBe(false);
    }
    expect(() => embeddedChannelArn("a/b")).toThrow(EarshotError);
  });
});

describe("assignShard", () => {
  it("picks the first shard with room", () => {
    expect(assignShard([10, 3, 10], 10, 5)).toBe(1);
    expect(assignShard([0], 10, 5)).toBe(0);
    expect(assignShard([10, 10, 9], 10, 5)).toBe(2);
  });

  it("opens a new shard when all existing ones are full", () => {
    expect(assignShard([], 10, 5)).toBe(0);
    expect(assignShard([10, 10], 10, 5)).toBe(2);
  });

  it("returns undefined when every allowed shard is full", () => {
    expect(assignShard([10, 10], 10, 2)).toBeUndefined();
    expect(assignShard([1], 1, 1)).toBeUndefined();
  });

  it("ignores counts past maxShards and treats over-full shards as full", () => {
    expect(assignShard([10, 10, 0], 10, 2)).toBeUndefined();
    expect(assignShard([12, 4], 10, 3)).toBe(1);
  });

  it("never exceeds the cap or the shard count", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 12 }), { maxLength: 12 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 12 }), (counts, cap, max) => {
        const shard = assignShard(counts, cap, max);
        const considered = counts.slice(0, max);
        if (shard === undefined) {
          expect(considered.length).toBe(max);
          expect(considered.every((n) => n >= cap)).toBe(true);
        } else {
          expect(shard).toBeLessThan(max);
          expect(counts[shard] ?? 0).toBeLessThan(cap);
          for (let i = 0; i < shard; i++) expect(counts[i]).toBeGreaterThanOrEqual(cap);
        }
      }),
    );
  });

  it("refuses nonsense limits", () => {
    expect(() => assignShard([], 0, 1)).toThrow(RangeError);
    expect(() => assignShard([], 10, 0)).toThrow(RangeError);
    expect(() => assignShard([], 1.5, 1)).toThrow(RangeError);
  });
});

describe("parseClientFrame", () => {
  const offer = b64({ type: "offer", sdp: "v=0" });

  it("accepts what SignalingClient sends", () => {
    expect(parseClientFrame(JSON.stringify({ action: "SDP_OFFER", messagePayload: offer }))).toEqual({
      ok: true,
      frame: { action: "SDP_OFFER", messagePayload: offer },
    });
    expect(
      parseClientFrame(JSON.stringify({ action: "ICE_CANDIDATE", messagePayload: offer, recipientClientId: "viewer-1", correlationId: "c.1_x-2" })),
    ).toEqual({
      ok: true,
      frame: { action: "ICE_CANDIDATE", messagePayload: offer, recipientClientId: "viewer-1", correlationId: "c.1_x-2" },
    });
  });

  it("treats null optional fields as absent", () => {
    const parsed = parseClientFrame(JSON.stringify({ action: "SDP_ANSWER", messagePayload: offer, recipientClientId: null, correlationId: null }));
    expect(parsed).toEqual({ ok: true, frame: { action: "SDP_ANSWER", messagePayload: offer } });
  });

  it("refuses non-JSON and non-objects without a correlation id", () => {
    for (const text of ["", "{", "null", "[]", "42", '"SDP_OFFER"']) {
      const parsed = parseClientFrame(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) {
        expect(parsed.correlationId).toBeUndefined();
        expect(parsed.refusal.code).toBe("INVALID_MESSAGE");
        expect(parsed.refusal.errorType).toBe("InvalidArgumentException");
      }
    }
  });

  it("keeps a valid correlation id of an invalid frame so the refusal can be answered", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ action: "HELLO", messagePayload: offer }, "INVALID_ACTION"],
      [{ messagePayload: offer }, "INVALID_ACTION"],
      [{ action: "SDP_OFFER" }, "MISSING_PARAMETER"],
      [{ action: "SDP_OFFER", messagePayload: "" }, "INVALID_PARAMETER"],
      [{ action: "SDP_OFFER", messagePayload: "not base64!" }, "INVALID_PARAMETER"],
      [{ action: "SDP_OFFER", messagePayload: 42 }, "INVALID_PARAMETER"],
      [{ action: "SDP_ANSWER", messagePayload: offer, recipientClientId: "bad id" }, "INVALID_PARAMETER"],
      [{ action: "SDP_OFFER", messagePayload: "A".repeat(SIGNALING_LIMITS.maxPayloadLength + 1) }, "MESSAGE_TOO_LARGE"],
    ];
    for (const [frame, code] of cases) {
      const parsed = parseClientFrame(JSON.stringify({ ...frame, correlationId: "cid-1" }));
      expect(parsed, JSON.stringify(frame).slice(0, 80)).toMatchObject({ ok: false, correlationId: "cid-1", refusal: { code } });
    }
  });

  it("answers nothing for a frame whose correlation id is itself invalid", () => {
    const parsed = parseClientFrame(JSON.stringify({ action: "SDP_OFFER", messagePayload: offer, correlationId: "has space" }));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.correlationId).toBeUndefined();
      expect(parsed.refusal.code).toBe("INVALID_PARAMETER");
    }
    const long = parseClientFrame(JSON.stringify({ action: "SDP_OFFER", messagePayload: offer, correlationId: "a".repeat(257) }));
    expect(long).toMatchObject({ ok: false, refusal: { code: "INVALID_PARAMETER" } });
  });

  it("accepts a payload of exactly the limit and refuses one more character", () => {
    const max = "A".repeat(SIGNALING_LIMITS.maxPayloadLength);
    expect(parseClientFrame(JSON.stringify({ action: "SDP_OFFER", messagePayload: max })).ok).toBe(true);
    expect(parseClientFrame(JSON.stringify({ action: "SDP_OFFER", messagePayload: max + "A" })).ok).toBe(false);
    expect(parseClientFrame(JSON.stringify({ action: "SDP_OFFER", messagePayload: "AAAA" }), 3)).toMatchObject({
      ok: false,
      refusal: { code: "MESSAGE_TOO_LARGE" },
    });
  });
});

describe("status responses", () => {
  it("have the KVS shape", () => {
    expect(statusResponseEvent("c1", refusal("INVALID_PARAMETER", "bad"))).toEqual({
      messageType: "STATUS_RESPONSE",
      statusResponse: { correlationId: "c1", success: false, errorType: "InvalidArgumentException", statusCode: "400", description: "bad" },
    });
    expect(refusal("RATE_LIMIT_EXCEEDED", "slow").errorType).toBe("ClientLimitExceededException");
  });

  it("classes actions by rate limit", () => {
    expect(rateClass("SDP_OFFER")).toBe("sdp");
    expect(rateClass("SDP_ANSWER")).toBe("sdp");
    expect(rateClass("ICE_CANDIDATE")).toBe("ice");
  });
});

describe("TokenBucket", () => {
  it("allows a burst of capacity, then refills at the rate", () => {
    const bucket = new TokenBucket(5, 5, 0);
    for (let i = 0; i < 5; i++) expect(bucket.take(0)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.retryAfter(0)).toBe(1);
    expect(bucket.take(199)).toBe(false);
    expect(bucket.take(200)).toBe(true);
    expect(bucket.take(200)).toBe(false);
    expect(bucket.isFull(200)).toBe(false);
    expect(bucket.isFull(1200)).toBe(true);
    for (let i = 0; i < 5; i++) expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(10_000)).toBe(false);
  });

  it("does not refill when the clock goes backwards", () => {
    const bucket = new TokenBucket(1, 1, 1000);
    expect(bucket.take(1000)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(1000)).toBe(false);
    expect(bucket.take(2000)).toBe(true);
  });

  it("reports whole seconds to wait", () => {
    const bucket = new TokenBucket(1, 0.25, 0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.retryAfter(0)).toBe(4);
    expect(bucket.retryAfter(3500)).toBe(1);
  });

  it("refuses nonsense parameters", () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(RangeError);
  });
});
