import { describe, expect, it } from "vitest";
import { Segmenter, type RecognizerResult } from "../../lib/core/segmenter";
import { TRANSCRIPT_LIMITS } from "../../lib/core/speech";

const clock = () => 1_700_000_000_000;
const r = (resultId: string, text: string, startMs: number, endMs: number, partial = true): RecognizerResult => ({ resultId, text, startMs, endMs, partial });

describe("Segmenter", () => {
  it("passes partials on under the seq the segment will get, then the final at the endpoint", () => {
    const s = new Segmenter({ now: clock });
    expect(s.push(r("a", "hello", 0, 400))).toEqual([{ seq: 0, text: "hello", startMs: 0, endMs: 400, final: false }]);
    expect(s.push(r("a", "hello world", 0, 800))).toEqual([{ seq: 0, text: "hello world", startMs: 0, endMs: 800, final: false }]);
    expect(s.push(r("a", "hello world", 0, 900, false))).toEqual([
      { seq: 0, text: "hello world", startMs: 0, endMs: 900, final: true, spokenAt: clock() },
    ]);
    expect(s.push(r("b", "good morning", 1500, 2300, false))).toEqual([
      { seq: 1, text: "good morning", startMs: 1500, endMs: 2300, final: true, spokenAt: clock() },
    ]);
    expect(s.nextSeq).toBe(2);
  });

  it("holds back partials that come sooner than minPartialGapMs after the last one sent", () => {
    const s = new Segmenter({ now: clock, minPartialGapMs: 300 });
    expect(s.push(r("a", "one", 0, 100))).toHaveLength(1);
    expect(s.push(r("a", "one two", 0, 200))).toEqual([]);
    expect(s.push(r("a", "one two three", 0, 450))).toEqual([{ seq: 0, text: "one two three", startMs: 0, endMs: 450, final: false }]);
    expect(s.push(r("a", "one two three four", 0, 500))).toEqual([]);
    expect(s.flush()).toEqual([{ seq: 0, text: "one two three four", startMs: 0, endMs: 500, final: true, spokenAt: clock() }]);
  });

  it("skips repeated identical partials and empty finals", () => {
    const s = new Segmenter({ now: clock });
    expect(s.push(r("a", "one two", 0, 400))).toHaveLength(1);
    expect(s.push(r("a", "one  two ", 0, 500))).toEqual([]);
    expect(s.push(r("x", "", 600, 700, false))).toEqual([{ seq: 0, text: "one two", startMs: 0, endMs: 500, final: true, spokenAt: clock() }]);
    expect(s.nextSeq).toBe(1);
  });

  it("cuts run-on speech at the words that stayed unchanged across the last partials", () => {
    const s = new Segmenter({ now: clock, maxSegmentMs: 4000 });
    const said = "so the first thing we did was to measure the lag of every phrase and then we tried again";
    const w = said.split(" ");
    const out = [];
    // Partials grow by one word every 300 ms, 20 words = 6 s, no pause.
    for (let i = 1; i <= w.length; i++) out.push(...s.push(r("a", w.slice(0, i).join(" "), 0, i * 300)));
    out.push(...s.push(r("a", said, 0, w.length * 300 + 100, false)));
    const finals = out.filter((x) => x.final);
    expect(finals.length).toBeGreaterThanOrEqual(2);
    // Finals carry consecutive seqs, cover the utterance exactly once, in order.
    expect(finals.map((f) => f.seq)).toEqual(finals.map((_, i) => i));
    expect(finals.map((f) => f.text).join(" ")).toBe(said);
    // The first cut came once the pending segment passed 4 s, not at the end.
    expect(finals[0]!.endMs).toBeLessThanOrEqual(4500);
    for (const f of finals) expect(f.endMs - f.startMs).toBeLessThanOrEqual(4500);
    // Partials after a cut carry the next seq and only the words not yet sent.
    const firstCut = out.indexOf(finals[0]!);
    const after = out.slice(firstCut + 1).find((x) => !x.final);
    expect(after?.seq).toBe(1);
    expect(after && finals[0]!.text.includes(after.text)).toBe(false);
    // Times never go backwards.
    for (let i = 1; i < finals.length; i++) expect(finals[i]!.startMs).toBe(finals[i - 1]!.endMs);
  });

  it("does not cut words that are still changing between partials", () => {
    const s = new Segmenter({ now: clock, maxSegmentMs: 1000 });
    // Every partial rewrites the start: nothing is stable, so nothing is cut before the endpoint.
    const variants = ["a b c d", "e f g h", "i j k l", "m n o p"];
    const out = variants.flatMap((t, i) => s.push(r("a", t, 0, 1200 + i * 300)));
    expect(out.every((x) => !x.final)).toBe(true);
    expect(s.push(r("a", "m n o p q", 0, 2500, false))).toEqual([{ seq: 0, text: "m n o p q", startMs: 0, endMs: 2500, final: true, spokenAt: clock() }]);
  });

  it("closes an utterance that never got its final when a new one starts, and on flush", () => {
    const s = new Segmenter({ now: clock, startSeq: 7 });
    s.push(r("a", "unfinished words", 0, 600));
    const out = s.push(r("b", "next", 1000, 1200));
    expect(out).toEqual([
      { seq: 7, text: "unfinished words", startMs: 0, endMs: 600, final: true, spokenAt: clock() },
      { seq: 8, text: "next", startMs: 1000, endMs: 1200, final: false },
    ]);
    expect(s.flush()).toEqual([{ seq: 8, text: "next", startMs: 1000, endMs: 1200, final: true, spokenAt: clock() }]);
    expect(s.flush()).toEqual([]);
  });

  it("splits a final longer than the size limit between words", () => {
    const s = new Segmenter({ now: clock });
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    const out = s.push(r("a", long, 0, 60_000, false));
    expect(out.length).toBeGreaterThan(1);
    for (const seg of out) expect(seg.text.length).toBeLessThanOrEqual(TRANSCRIPT_LIMITS.maxTextChars);
    expect(out.map((x) => x.text).join(" ")).toBe(long);
    expect(out.map((x) => x.seq)).toEqual(out.map((_, i) => i));
    expect(out.at(-1)!.endMs).toBe(60_000);
  });
});
