import { describe, expect, it } from "vitest";
import { DEFAULT_SPEECH_POLICY, SpeechQueue, rateFor } from "@/lib/client/media/speech-queue";

/** The queue runs on a fake clock: `now` is whatever the test says. */
const seg = (seq: number, durationMs = 2_000) => ({ seq, durationMs, payload: `audio-${seq}` });

describe("rateFor", () => {
  it("plays at normal speed up to the catch-up threshold, then faster, up to 1.25x at the drop ceiling", () => {
    expect(rateFor(0)).toBe(1);
    expect(rateFor(DEFAULT_SPEECH_POLICY.catchUpAfterMs)).toBe(1);
    const mid = rateFor((DEFAULT_SPEECH_POLICY.catchUpAfterMs + DEFAULT_SPEECH_POLICY.dropAfterMs) / 2);
    expect(mid).toBeGreaterThan(1.1);
    expect(mid).toBeLessThan(1.15);
    expect(rateFor(DEFAULT_SPEECH_POLICY.dropAfterMs)).toBe(1.25);
    expect(rateFor(60_000)).toBe(1.25);
  });
});

describe("SpeechQueue", () => {
  it("plays segments back to back in seq order, without gaps", () => {
    const q = new SpeechQueue<string>();
    q.push(seg(1, 1_500), 0);
    q.push(seg(0, 1_500), 0); // arrived out of order
    const first = q.schedule(0);
    expect(first.map((s) => [s.seq, s.startAt, s.endAt, s.rate])).toEqual([
      [0, 0, 1_500, 1],
      [1, 1_500, 3_000, 1],
    ]);
    expect(q.speakingAt(500)?.seq).toBe(0);
    expect(q.speakingAt(2_500)?.seq).toBe(1);
    expect(q.speakingAt(3_000)).toBeUndefined();
  });

  it("keeps at most the lookahead scheduled; the next one starts exactly where the previous ends", () => {
    const q = new SpeechQueue<string>();
    for (const n of [0, 1, 2]) q.push(seg(n, 1_000), 0);
    expect(q.schedule(0).map((s) => s.seq)).toEqual([0, 1]);
    expect(q.schedule(500)).toEqual([]); // two still ahead
    const next = q.schedule(1_000); // segment 0 is over
    expect(next.map((s) => [s.seq, s.startAt])).toEqual([[2, 2_000]]);
  });

  it("starts a segment that arrives after silence at once", () => {
    const q = new SpeechQueue<string>();
    q.push(seg(0, 1_000), 0);
    q.schedule(0);
    q.push(seg(1, 1_000), 5_000);
    expect(q.schedule(5_000).map((s) => s.startAt)).toEqual([5_000]);
  });

  it("speeds up once more than a few seconds are waiting", () => {
    const q = new SpeechQueue<string>();
    q.push(seg(0, 2_000), 0);
    q.push(seg(1, 2_000), 0);
    q.push(seg(2, 2_000), 0);
    const [a, b] = q.schedule(0);
    // 6 s to hear when the first is scheduled: faster than normal already.
    expect(a!.rate).toBeGreaterThan(1);
    expect(a!.endAt - a!.startAt).toBeLessThan(2_000);
    expect(b!.startAt).toBe(a!.endAt);
    // When the backlog is back under the threshold, normal speed again.
    q.schedule(a!.endAt);
    const later = new SpeechQueue<string>();
    later.push(seg(5, 1_000), 0);
    expect(later.schedule(0)[0]!.rate).toBe(1);
  });

  it("past the ceiling drops the oldest unplayed segments and keeps the newest", () => {
    const q = new SpeechQueue<string>();
    q.push(seg(0, 3_000), 0);
    q.schedule(0); // 0 and nothing else
    const dropped: number[] = [];
    for (const n of [1, 2, 3, 4]) dropped.push(...q.push(seg(n, 3_000), 100).map((d) => d.seq));
    // 2.9 s of segment 0 left: a second 3 s segment queued fits under 8 s, a third does not; the oldest queued go first.
    expect(dropped).toEqual([1, 2, 3]);
    expect(q.pending.map((p) => p.seq)).toEqual([4]);
    expect(q.backlogMs(100)).toBeLessThanOrEqual(DEFAULT_SPEECH_POLICY.dropAfterMs);
    // A single huge segment is never dropped for being long.
    const big = new SpeechQueue<string>();
    expect(big.push(seg(0, 20_000), 0)).toEqual([]);
    expect(big.schedule(0)).toHaveLength(1);
  });

  it("drops a segment that arrives after a later one was scheduled, and duplicates", () => {
    const q = new SpeechQueue<string>();
    q.push(seg(3), 0);
    q.schedule(0);
    expect(q.push(seg(2), 10).map((d) => d.seq)).toEqual([2]);
    expect(q.push(seg(3), 10).map((d) => d.seq)).toEqual([3]);
    q.push(seg(4), 10);
    expect(q.push(seg(4), 10).map((d) => d.seq)).toEqual([4]);
  });

  it("clear() stops everything at once; reset() also accepts lower seqs again", () => {
    const q = new SpeechQueue<string>();
    for (const n of [0, 1, 2]) q.push(seg(n), 0);
    q.schedule(0);
    const cleared = q.clear();
    expect(cleared.scheduled.map((s) => s.seq)).toEqual([0, 1]);
    expect(cleared.queued.map((s) => s.seq)).toEqual([2]);
    expect(q.speakingAt(100)).toBeUndefined();
    expect(q.backlogMs(100)).toBe(0);
    expect(q.push(seg(1), 200).map((d) => d.seq)).toEqual([1]); // still older than what played
    q.reset();
    expect(q.push(seg(1), 300)).toEqual([]);
  });
});
