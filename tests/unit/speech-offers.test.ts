import { describe, expect, it } from "vitest";
import { asSentence, sessionOffers, targetLanguagesFor, translatable, type SpeechEngines } from "@/lib/core/speech";

const LOCAL: SpeechEngines = { asr: "local", mt: "local", tts: "local" };
const AWS: SpeechEngines = { asr: "aws", mt: "aws", tts: "aws" };

describe("what the engines serve", () => {
  it("local translation: English to Spanish, Catalan, Galician and Esperanto only", () => {
    expect(targetLanguagesFor(LOCAL, "en")).toEqual(["ca", "eo", "es", "gl"]);
    expect(targetLanguagesFor(LOCAL, "de")).toEqual([]);
  });

  it("only installed pairs are offered when the local engine says which (a partial install)", () => {
    const partial: SpeechEngines = { ...LOCAL, mtTargets: ["es"] };
    expect(targetLanguagesFor(partial, "en")).toEqual(["es"]);
    expect(translatable(partial, "en", "ca")).toBe(false);
    expect(sessionOffers(partial, { sourceLanguage: "en", targetLanguages: ["es", "ca"], recognizer: "server" }).map((o) => o.language)).toEqual(["en", "es"]);
  });

  it("Amazon Translate serves every listed language but Galician and Esperanto, never into the source", () => {
    const targets = targetLanguagesFor(AWS, "en");
    expect(targets).toContain("ja");
    expect(targets).not.toContain("gl");
    expect(targets).not.toContain("eo");
    expect(targets).not.toContain("en");
  });
});

describe("session offers", () => {
  it("source first; voice where a voice exists, with the Galician caveat; captions without synthesis", () => {
    expect(sessionOffers(LOCAL, { sourceLanguage: "en", targetLanguages: ["es", "gl"], recognizer: "server" })).toEqual([
      { language: "en", kind: "source", captions: true },
      { language: "es", kind: "voice", captions: true },
      { language: "gl", kind: "voice", captions: true, voiceNote: "Portuguese voice" },
    ]);
    expect(sessionOffers({ ...LOCAL, tts: "off" }, { sourceLanguage: "en", targetLanguages: ["es"], recognizer: "server" })[1]).toEqual({ language: "es", kind: "captions", captions: true });
  });

  it("nothing pretends: without recognition only the source language is offered, without captions", () => {
    expect(sessionOffers(LOCAL, { sourceLanguage: "en", targetLanguages: ["es"], recognizer: "off" })).toEqual([{ language: "en", kind: "source", captions: false }]);
    // The server recogniser hears English only; a German session needs the browser's recogniser.
    expect(sessionOffers(AWS, { sourceLanguage: "de", targetLanguages: ["fr"], recognizer: "server" })).toHaveLength(2);
    expect(sessionOffers(LOCAL, { sourceLanguage: "de", targetLanguages: ["es"], recognizer: "server" })).toEqual([{ language: "de", kind: "source", captions: false }]);
  });
});

describe("asSentence", () => {
  it("capitalises and ends an unpunctuated segment, and leaves a finished sentence alone", () => {
    expect(asSentence("  the house is   very big ")).toBe("The house is very big.");
    expect(asSentence("is it big?")).toBe("Is it big?");
    expect(asSentence("")).toBe("");
  });
});
