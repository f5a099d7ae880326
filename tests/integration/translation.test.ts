import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EarshotError } from "../../lib/core/errors";
import type { LanguageCode } from "../../lib/core/languages";
import type { ServerMessage } from "../../lib/core/protocol";
import { TRANSCRIPT_LIMITS } from "../../lib/core/speech";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import type { SpeechServices } from "../../lib/server/speech/ports";
import { TestClient, attachSpeech, createSession, joinAsListener, startTestRuntime, withinOneRateWindow } from "./harness";
import { speechServicesForTests } from "./speech-services";

/**
 * Live translation over real WebSockets, the embedded store and the real
 * local engines (Apertium for translation, espeak-ng + lame for speech):
 * the speaker submits segments as its browser would; listeners of each
 * language get what they should and nothing else.
 */

let runtime: EmbeddedRuntime;
let engines: SpeechServices & { close?(): Promise<void> };

beforeAll(async () => {
  runtime = await startTestRuntime();
  engines = await speechServicesForTests(runtime);
  attachSpeech(runtime, engines);
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  await engines?.close?.();
});

type Caption = Extract<ServerMessage, { type: "caption" }>;
type Speech = Extract<ServerMessage, { type: "speech" }>;

const final = (seq: number, text: string, extra: Record<string, unknown> = {}) => ({
  action: "submitTranscript",
  seq,
  text,
  startMs: seq * 3000,
  endMs: seq * 3000 + 2000,
  final: true,
  spokenAt: Date.now(),
  ...extra,
});
const partial = (seq: number, text: string) => ({ action: "submitTranscript", seq, text, startMs: seq * 3000, endMs: seq * 3000 + 800, final: false });

/** Waits until the speaker was told segment `seq` went through the pipeline: every push for it was sent before. */
function processed(speaker: TestClient, seq: number) {
  return speaker.next("segmentProcessed", (m) => m.seq === seq);
}

const captionsOf = (c: TestClient) => c.messages.filter((m): m is Caption => m.type === "caption");
const speechOf = (c: TestClient) => c.messages.filter((m): m is Speech => m.type === "speech");

/** Reassembles a segment's speech parts, checking they are complete and in order. */
function audioOf(parts: Speech[]): Buffer {
  expect(parts.length).toBeGreaterThan(0);
  expect(parts.map((p) => p.part)).toEqual(parts.map((_, i) => i));
  for (const p of parts) expect(p.parts).toBe(parts.length);
  return Buffer.from(parts.map((p) => p.audio).join(""), "base64");
}

/** An MP3 stream: an ID3 tag or an MPEG audio frame sync at the start, and more frame syncs after. */
function expectMp3(audio: Buffer): void {
  expect(audio.length).toBeGreaterThan(500);
  let offset = 0;
  if (audio.subarray(0, 3).toString("latin1") === "ID3") {
    const size = ((audio[6]! & 0x7f) << 21) | ((audio[7]! & 0x7f) << 14) | ((audio[8]! & 0x7f) << 7) | (audio[9]! & 0x7f);
    offset = 10 + size;
  }
  expect(audio[offset]).toBe(0xff);
  expect(audio[offset + 1]! & 0xe0).toBe(0xe0);
  let frames = 0;
  for (let i = offset; i < audio.length - 1; i++) if (audio[i] === 0xff && (audio[i + 1]! & 0xe0) === 0xe0) frames++;
  expect(frames).toBeGreaterThan(3);
}

async function session(targetLanguages: LanguageCode[] = ["es", "ca"]) {
  const s = await createSession(runtime, { targetLanguages });
  if (s.created.type !== "sessionCreated") throw new Error("no session");
  return s;
}

describe("a session with Spanish and Catalan", () => {
  it("offers the targets at creation, on join and over HTTP's shape, with what each gets", async () => {
    const { created, sessionId, speaker } = await session(["es", "ca", "gl"]);
    if (created.type !== "sessionCreated") throw new Error();
    expect(created.targetLanguages).toEqual(["es", "ca", "gl"]);
    expect(created.recognizer).toBe("server");
    expect(created.offers.map((o) => [o.language, o.kind])).toEqual([
      ["en", "source"],
      ["es", "voice"],
      ["ca", "voice"],
      ["gl", "voice"],
    ]);
    expect(created.offers.find((o) => o.language === "gl")?.voiceNote).toBe("Portuguese voice");
    const listener = await joinAsListener(runtime, sessionId, "gl");
    const joined = await listener.request({ action: "joinSession", sessionId, targetLanguage: "gl", speech: false });
    expect(joined).toMatchObject({ type: "sessionJoined", speech: false, offers: created.offers });
    await Promise.all([listener.close(), speaker.close()]);
  });

  it("gives each language its own captions, partials to the source language only, speech only to listeners who want it", async () => {
    const { sessionId, speaker } = await session();
    const es = await joinAsListener(runtime, sessionId, "es");
    const esQuiet = await joinAsListener(runtime, sessionId, "es", { speech: false });
    const ca = await joinAsListener(runtime, sessionId, "ca");
    const en = await joinAsListener(runtime, sessionId, "en");

    speaker.send(partial(0, "the house"));
    const accepted = await speaker.request(final(0, "the house is big"));
    expect(accepted).toMatchObject({ type: "transcriptAccepted", sessionId, seq: 0 });
    const report = await processed(speaker, 0);

    // English (the source): the partial, then the final as a sentence.
    const enCaptions = captionsOf(en);
    expect(enCaptions).toEqual([
      expect.objectContaining({ seq: 0, language: "en", text: "the house", final: false }),
      expect.objectContaining({ seq: 0, language: "en", text: "The house is big.", final: true }),
    ]);
    // Spanish and Catalan: one final caption each, in their language; no partials.
    for (const c of [es, esQuiet]) {
      expect(captionsOf(c)).toHaveLength(1);
      expect(captionsOf(c)[0]).toMatchObject({ seq: 0, language: "es", final: true });
      expect(captionsOf(c)[0]!.text).toMatch(/casa/i);
      expect(captionsOf(c)[0]!.text).toMatch(/grande/i);
    }
    expect(captionsOf(ca)).toHaveLength(1);
    expect(captionsOf(ca)[0]).toMatchObject({ seq: 0, language: "ca", final: true });
    expect(captionsOf(ca)[0]!.text).toMatch(/casa/i);
    expect(captionsOf(ca)[0]!.text).toMatch(/\bgran\b/i);

    // Speech: Spanish and Catalan listeners who want it get MP3; the captions-only one and English get none.
    expectMp3(audioOf(speechOf(es)));
    expect(speechOf(es)[0]).toMatchObject({ seq: 0, language: "es", format: "mp3" });
    expect(speechOf(es)[0]!.durationMs).toBeGreaterThan(0);
    expectMp3(audioOf(speechOf(ca)));
    expect(speechOf(esQuiet)).toEqual([]);
    expect(speechOf(en)).toEqual([]);

    // The speaker's report: per language, listeners, speech listeners, the translation, lags, no errors.
    expect(report.text).toBe("The house is big.");
    const by = Object.fromEntries(report.languages.map((l) => [l.language, l]));
    expect(by.en).toMatchObject({ listeners: 1, speechListeners: 0 });
    expect(by.es).toMatchObject({ listeners: 2, speechListeners: 1, text: captionsOf(es)[0]!.text });
    expect(by.ca).toMatchObject({ listeners: 1, speechListeners: 1, text: captionsOf(ca)[0]!.text });
    for (const l of report.languages) {
      expect(l.error).toBeUndefined();
      expect(l.captionLagMs).toBeGreaterThanOrEqual(0);
    }
    expect(by.es!.speechLagMs).toBeGreaterThanOrEqual(0);

    // The transcript keeps the segment with its translations.
    const stored = await runtime.services.store.listSegments(sessionId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ seq: 0, text: "The house is big.", translations: { es: by.es!.text, ca: by.ca!.text } });
    await Promise.all([es, esQuiet, ca, en, speaker].map((c) => c.close()));
  });

  it("switches a listener's captions and speech from the next segment when it changes language", async () => {
    const { sessionId, speaker } = await session();
    const listener = await joinAsListener(runtime, sessionId, "es");
    await speaker.request(final(0, "I like the green tree"));
    await processed(speaker, 0);
    expect(captionsOf(listener).map((c) => c.language)).toEqual(["es"]);
    expect(captionsOf(listener)[0]!.text).toMatch(/verde/i);

    expect(await listener.request({ action: "changeLanguage", targetLanguage: "ca" })).toMatchObject({
      type: "languageChanged",
      targetLanguage: "ca",
      previousLanguage: "es",
      speech: true,
    });
    listener.clear();
    await speaker.request(final(1, "I like the green tree"));
    await processed(speaker, 1);
    expect(captionsOf(listener)).toHaveLength(1);
    expect(captionsOf(listener)[0]).toMatchObject({ seq: 1, language: "ca" });
    expect(captionsOf(listener)[0]!.text).toMatch(/verd\b/i);
    expect(speechOf(listener).every((s) => s.language === "ca" && s.seq === 1)).toBe(true);
    expectMp3(audioOf(speechOf(listener)));

    // Back to the source language, captions only: partials again, no speech.
    await listener.request({ action: "changeLanguage", targetLanguage: "en", speech: false });
    listener.clear();
    speaker.send(partial(2, "where is"));
    await speaker.request(final(2, "where is the library"));
    await processed(speaker, 2);
    expect(captionsOf(listener).map((c) => [c.language, c.final])).toEqual([
      ["en", false],
      ["en", true],
    ]);
    expect(speechOf(listener)).toEqual([]);
    await Promise.all([listener.close(), speaker.close()]);
  });

  it("refuses a language the session does not offer, at join and at change", async () => {
    const { sessionId, speaker } = await session(["es"]);
    const listener = await TestClient.connect(runtime, { sessionId, targetLanguage: "ca" });
    const refused = await listener.request({ action: "joinSession", sessionId, targetLanguage: "ca" });
    expect(refused).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    expect((refused as { message: string }).message).toContain("es");
    expect(await listener.request({ action: "joinSession", sessionId, targetLanguage: "es" })).toMatchObject({ type: "sessionJoined" });
    expect(await listener.request({ action: "changeLanguage", targetLanguage: "de" })).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    expect(await listener.request({ action: "changeLanguage", targetLanguage: "en" })).toMatchObject({ type: "languageChanged" });
    await Promise.all([listener.close(), speaker.close()]);
  });
});

describe("the speaker's createSession", () => {
  it("refuses a target language the translation engine cannot serve, saying why", async () => {
    const { speaker } = await session();
    const token = (await createSession(runtime)).token;
    const other = await TestClient.connect(runtime, { token });
    const refused = await other.request({ action: "createSession", sourceLanguage: "en", targetLanguages: ["es", "ja"] });
    expect(refused).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    expect((refused as { message: string }).message).toContain('"ja"');
    expect(await other.request({ action: "createSession", sourceLanguage: "en", targetLanguages: ["xx"] })).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
    // German speech: the local recogniser serves English only; without the browser's, no translation is offered.
    const de = await other.request({ action: "createSession", sourceLanguage: "de" });
    expect(de).toMatchObject({ type: "sessionCreated", recognizer: "off", offers: [{ language: "de", kind: "source", captions: false }] });
    await Promise.all([other.close(), speaker.close()]);
  });
});

describe("submitTranscript", () => {
  it("is refused for a listener, and nothing reaches the others", async () => {
    const { sessionId, speaker } = await session();
    const intruder = await joinAsListener(runtime, sessionId, "en");
    const bystander = await joinAsListener(runtime, sessionId, "es");
    const refused = await intruder.request(final(0, "the house is big"));
    expect(refused).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION", action: "submitTranscript" });
    // The speaker's own segment 0 still goes through: the listener's attempt took nothing.
    await speaker.request(final(0, "where is the library"));
    await processed(speaker, 0);
    expect(captionsOf(bystander)).toHaveLength(1);
    expect(captionsOf(bystander)[0]!.text).toMatch(/biblioteca/i);
    expect(captionsOf(intruder).map((c) => c.text)).toEqual(["Where is the library."]);
    await Promise.all([intruder, bystander, speaker].map((c) => c.close()));
  });

  it("checks size, times and seq order, and answers only a request that has a requestId", async () => {
    const { sessionId, speaker } = await session();
    const tooLong = "a".repeat(TRANSCRIPT_LIMITS.maxTextChars + 1);
    expect(await speaker.request(final(0, tooLong))).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    expect(await speaker.request(final(0, "   "))).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    expect(await speaker.request(final(0, "the house", { startMs: 5000, endMs: 4000 }))).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    expect(await speaker.request(final(0, "the house", { seq: -1 }))).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    expect(await speaker.request(final(3, "the house is big"))).toMatchObject({ type: "transcriptAccepted", seq: 3 });
    await processed(speaker, 3);
    // seq 3 is final now: neither it nor an earlier one is taken again.
    expect(await speaker.request(final(3, "the house is big"))).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    expect(await speaker.request(partial(2, "the"))).toMatchObject({ type: "error", code: "INVALID_PARAMETER" });
    // Without a requestId: no transcriptAccepted, only the pipeline's report.
    speaker.clear();
    speaker.send(final(4, "the house is big"));
    await processed(speaker, 4);
    expect(speaker.messages.filter((m) => m.type === "transcriptAccepted")).toEqual([]);
    expect((await runtime.services.store.listSegments(sessionId)).map((s) => s.seq)).toEqual([3, 4]);
    await speaker.close();
  });

  it(`is rate-limited to ${TRANSCRIPT_LIMITS.messagesPer10s} messages per connection per 10 s`, async () => {
    const { speaker } = await session();
    // Fixed 10 s windows: however the burst falls, two windows take at most twice the limit.
    await withinOneRateWindow(10, 8);
    const limit = TRANSCRIPT_LIMITS.messagesPer10s;
    const replies = await Promise.all(Array.from({ length: 2 * limit + 5 }, (_, i) => speaker.request({ ...partial(0, `word ${i}`) })));
    const limited = replies.filter((r) => r.type === "error" && r.code === "RATE_LIMIT_EXCEEDED");
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(replies.filter((r) => r.type === "transcriptAccepted").length).toBeLessThanOrEqual(2 * limit);
    expect(replies.every((r) => r.type === "transcriptAccepted" || (r.type === "error" && r.code === "RATE_LIMIT_EXCEEDED"))).toBe(true);
    await speaker.close();
  });
});

describe("a failing engine", () => {
  it("for one language does not stop the others, and the speaker is told", async () => {
    // A port fake around the real engines: Spanish translation fails, the rest is real.
    const failing: SpeechServices = {
      ...engines,
      translator: {
        translate: (text, source, target) =>
          target === "es" ? Promise.reject(new EarshotError("ENGINE_UNAVAILABLE", "The Spanish translator is down.")) : engines.translator!.translate(text, source, target),
      },
    };
    attachSpeech(runtime, failing);
    try {
      const { sessionId, speaker } = await session();
      const es = await joinAsListener(runtime, sessionId, "es");
      const ca = await joinAsListener(runtime, sessionId, "ca");
      const en = await joinAsListener(runtime, sessionId, "en");
      await speaker.request(final(0, "the house is big"));
      const report = await processed(speaker, 0);
      const by = Object.fromEntries(report.languages.map((l) => [l.language, l]));
      expect(by.es).toMatchObject({ listeners: 1, error: { code: "ENGINE_UNAVAILABLE", message: "The Spanish translator is down." } });
      expect(by.es!.text).toBeUndefined();
      expect(by.ca!.error).toBeUndefined();
      expect(captionsOf(es)).toEqual([]);
      expect(speechOf(es)).toEqual([]);
      expect(captionsOf(ca)[0]!.text).toMatch(/gran/i);
      expectMp3(audioOf(speechOf(ca)));
      expect(captionsOf(en)[0]!.text).toBe("The house is big.");
      await Promise.all([es, ca, en, speaker].map((c) => c.close()));
    } finally {
      attachSpeech(runtime, engines);
    }
  });
});

describe("long speech", () => {
  it("travels in parts under API Gateway's message limit that reassemble to the whole MP3", async () => {
    // A port fake around the real synthesizer: the real MP3 repeated to ~200 KB (a long sentence's worth).
    const long: SpeechServices = {
      ...engines,
      synthesizer: {
        async synthesize(text, language) {
          const one = await engines.synthesizer!.synthesize(text, language);
          const times = Math.ceil(200_000 / one.audio.length);
          return { ...one, audio: new Uint8Array(Buffer.concat(Array.from({ length: times }, () => Buffer.from(one.audio)))), durationMs: one.durationMs * times };
        },
      },
    };
    attachSpeech(runtime, long);
    try {
      const { sessionId, speaker } = await session();
      const es = await joinAsListener(runtime, sessionId, "es");
      await speaker.request(final(0, "the house is big"));
      await processed(speaker, 0);
      const parts = speechOf(es);
      expect(parts.length).toBeGreaterThan(1);
      for (const p of parts) expect(JSON.stringify(p).length).toBeLessThan(128 * 1024);
      const audio = audioOf(parts);
      expect(audio.length).toBeGreaterThanOrEqual(200_000);
      expectMp3(audio);
      await Promise.all([es.close(), speaker.close()]);
    } finally {
      attachSpeech(runtime, engines);
    }
  });
});

describe("with the engines off", () => {
  it("offers the source language only, refuses targets and says the recogniser is off", async () => {
    attachSpeech(runtime, undefined);
    try {
      const token = (await createSession(runtime)).token;
      const speaker = await TestClient.connect(runtime, { token });
      const refused = await speaker.request({ action: "createSession", sourceLanguage: "en", targetLanguages: ["es"] });
      expect(refused).toMatchObject({ type: "error", code: "UNSUPPORTED_LANGUAGE" });
      expect((refused as { message: string }).message).toMatch(/translation is off/i);
      const created = await speaker.request({ action: "createSession", sourceLanguage: "en" });
      expect(created).toMatchObject({ type: "sessionCreated", recognizer: "off", targetLanguages: [], offers: [{ language: "en", kind: "source", captions: false }] });
      expect(await speaker.request({ action: "getRecognizer" })).toMatchObject({ type: "recognizer", engine: "off", languageCode: "en-US", sampleRate: 16000 });
      await speaker.close();
    } finally {
      attachSpeech(runtime, engines);
    }
  });
});

describe("getRecognizer", () => {
  it("tells the speaker where to stream audio, and nobody else", async () => {
    const { sessionId, speaker } = await session();
    const recognizer = await speaker.request({ action: "getRecognizer" });
    expect(recognizer).toMatchObject({ type: "recognizer", sessionId, engine: "local", languageCode: "en-US", sampleRate: 16000, nextSeq: 0 });
    expect((recognizer as { url?: string }).url).toMatch(/^ws:\/\//);
    // After final segments, a speaker who reconnects learns where its seqs continue.
    await speaker.request(final(4, "the house is big"));
    await processed(speaker, 4);
    expect(await speaker.request({ action: "getRecognizer" })).toMatchObject({ type: "recognizer", nextSeq: 5 });
    const listener = await joinAsListener(runtime, sessionId, "en");
    expect(await listener.request({ action: "getRecognizer" })).toMatchObject({ type: "error", code: "UNAUTHORIZED_ACTION" });
    await Promise.all([listener.close(), speaker.close()]);
  });
});
