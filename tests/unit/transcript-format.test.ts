import { describe, expect, it } from "vitest";
import type { SegmentItem, SessionItem } from "../../lib/core/schema";
import { transcriptLanguages, transcriptTxt, transcriptVtt } from "../../lib/server/speech/transcript-format";

const createdAt = Date.UTC(2026, 0, 5, 9, 0, 0);
const session: SessionItem = {
  sessionId: "quiet-harbor-042",
  speakerId: "s1",
  title: "Keynote",
  sourceLanguage: "en",
  targetLanguages: ["es", "ca"],
  recognizer: "server",
  status: "active",
  muted: false,
  live: true,
  channelCount: 1,
  createdAt,
  updatedAt: createdAt,
  expiresAt: Math.floor(createdAt / 1000) + 3600,
  listenerCount: 2,
};
const seg = (seq: number, text: string, endAfterMs: number, lengthMs: number, translations: Record<string, string>): SegmentItem => ({
  sessionId: session.sessionId,
  seq,
  language: "en",
  text,
  startMs: 0,
  endMs: lengthMs,
  spokenAt: createdAt + endAfterMs,
  receivedAt: createdAt + endAfterMs + 50,
  translations,
  expiresAt: session.expiresAt,
});
// The second segment comes from a restarted recogniser stream (times from 0 again): cue times still grow.
const segments = [
  seg(1, "The weather is nice today.", 65_000, 2000, { es: "El tiempo es agradable hoy.", ca: "El temps és agradable avui." }),
  seg(0, "Good morning everyone.", 3_500, 1500, { es: "Buenos días todo el mundo." }),
];

describe("transcript formats", () => {
  it("lists the source, the targets and any other translated language", () => {
    expect(transcriptLanguages(session, segments)).toEqual(["en", "es", "ca"]);
  });

  it("writes plain text with every language under each original line, in seq order", () => {
    const txt = transcriptTxt(session, segments, "all");
    expect(txt).toContain("Keynote");
    expect(txt).toContain("[00:00:02] Good morning everyone.\n    es: Buenos días todo el mundo.");
    expect(txt).toContain("[00:01:03] The weather is nice today.\n    es: El tiempo es agradable hoy.\n    ca: El temps és agradable avui.");
    expect(txt.indexOf("Good morning")).toBeLessThan(txt.indexOf("The weather"));
  });

  it("writes one language alone", () => {
    const txt = transcriptTxt(session, segments, "ca");
    expect(txt).toContain("[00:01:03] El temps és agradable avui.");
    expect(txt).not.toContain("Good morning");
    expect(txt).not.toContain("Buenos");
  });

  it("writes WebVTT cues with growing timestamps", () => {
    const vtt = transcriptVtt(session, segments, "es");
    expect(vtt.startsWith("WEBVTT\n")).toBe(true);
    expect(vtt).toContain("1\n00:00:02.000 --> 00:00:03.500\nBuenos días todo el mundo.\n");
    expect(vtt).toContain("2\n00:01:03.000 --> 00:01:05.000\nEl tiempo es agradable hoy.\n");
    const all = transcriptVtt(session, segments, "all");
    expect(all).toContain("Good morning everyone.\n<lang es>Buenos días todo el mundo.</lang>");
  });

  it("keeps cue text from breaking the format", () => {
    const vtt = transcriptVtt(session, [seg(0, "a --> b <c> & d", 1000, 500, {})], "en");
    expect(vtt).toContain("a -> b &lt;c> &amp; d");
  });
});
