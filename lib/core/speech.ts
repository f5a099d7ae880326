import { LANGUAGE_CODES, type LanguageCode } from "./languages";

/**
 * Live translation, the runtime-free part: which engines can serve which
 * languages, what a listener of each language gets, and the shapes of
 * segments, captions and synthesized speech. The server (pipeline, handlers),
 * the browser (speaker and listener pages) and the docs read this one table.
 *
 * The flow (docs/TRANSLATION.md): the speaker's browser runs recognition (it
 * streams microphone PCM to a Transcribe-protocol endpoint: Amazon Transcribe
 * in the cloud, the embedded runtime's pocketsphinx-backed one locally, or the
 * browser's own Web Speech API), cuts the results into segments and submits
 * them on its control channel (`submitTranscript`). The control plane
 * translates each final segment once per target language that has listeners,
 * synthesizes it once per language that has listeners who want speech, and
 * pushes `caption` and `speech` messages to that language's listeners only.
 */

/** Where speech recognition runs. `browser` is not a server setting: the speaker turns it on per session. */
export type RecognizerEngine = "local" | "aws" | "off";
export type TranslatorEngine = "local" | "aws" | "off";
export type SynthesizerEngine = "local" | "aws" | "off";

/** The engines in effect (configured and, for local ones, installed). */
export interface SpeechEngines {
  asr: RecognizerEngine;
  mt: TranslatorEngine;
  tts: SynthesizerEngine;
}

/** How a session's speech is recognised, chosen by the speaker at creation. */
export type SessionRecognizer = "server" | "browser" | "off";

/** Languages each engine serves. Local engines: Debian packages (scripts/speech-install.mjs). */
export const RECOGNIZER_LANGUAGES: Record<Exclude<RecognizerEngine, "off">, readonly LanguageCode[]> = {
  // pocketsphinx-en-us: the only offline acoustic model packaged for Debian.
  local: ["en"],
  // Amazon Transcribe streaming.
  aws: ["ar", "ca", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv", "tr", "uk", "zh"],
};

/** Source -> targets each translator serves. */
export const TRANSLATOR_PAIRS: Record<Exclude<TranslatorEngine, "off">, (source: LanguageCode, target: LanguageCode) => boolean> = {
  // Apertium pairs packaged for Debian with English as the source (eng-hbs output is unusable).
  local: (source, target) => source === "en" && (["es", "ca", "gl", "eo"] as LanguageCode[]).includes(target),
  // Amazon Translate: every language Earshot lists except Galician and Esperanto.
  aws: (source, target) => source !== target && !NOT_IN_AMAZON_TRANSLATE.has(source) && !NOT_IN_AMAZON_TRANSLATE.has(target),
};
const NOT_IN_AMAZON_TRANSLATE: ReadonlySet<LanguageCode> = new Set(["gl", "eo"]);

export interface VoiceInfo {
  /** Engine voice id: an espeak-ng voice name, or an Amazon Polly VoiceId. */
  voice: string;
  /** Shown to listeners when the voice is not of the language itself ("Portuguese voice"). */
  note?: string;
  /** Polly only: "neural" where the language has a neural voice. */
  engine?: "neural" | "standard";
  /** Polly LanguageCode where a voice speaks several. */
  languageCode?: string;
}

/** Default voice per language and synthesizer (Polly voices are configurable: EARSHOT_POLLY_VOICES). */
export const SYNTHESIZER_VOICES: Record<Exclude<SynthesizerEngine, "off">, Partial<Record<LanguageCode, VoiceInfo>>> = {
  local: {
    ca: { voice: "ca" },
    de: { voice: "de" },
    en: { voice: "en-us" },
    eo: { voice: "eo" },
    es: { voice: "es" },
    fr: { voice: "fr" },
    // espeak-ng has no Galician voice: Portuguese is the closest.
    gl: { voice: "pt", note: "Portuguese voice" },
    it: { voice: "it" },
    nl: { voice: "nl" },
    pl: { voice: "pl" },
    pt: { voice: "pt" },
    ru: { voice: "ru" },
    sv: { voice: "sv" },
    tr: { voice: "tr" },
    uk: { voice: "uk" },
  },
  aws: {
    ar: { voice: "Hala", engine: "neural", languageCode: "ar-AE" },
    ca: { voice: "Arlet", engine: "neural" },
    de: { voice: "Vicki", engine: "neural" },
    en: { voice: "Joanna", engine: "neural" },
    es: { voice: "Lucia", engine: "neural" },
    fr: { voice: "Lea", engine: "neural" },
    hi: { voice: "Kajal", engine: "neural", languageCode: "hi-IN" },
    it: { voice: "Bianca", engine: "neural" },
    ja: { voice: "Takumi", engine: "neural" },
    ko: { voice: "Seoyeon", engine: "neural" },
    nl: { voice: "Laura", engine: "neural" },
    pl: { voice: "Ola", engine: "neural" },
    pt: { voice: "Ines", engine: "neural" },
    ru: { voice: "Tatyana", engine: "standard" },
    sv: { voice: "Elin", engine: "neural" },
    tr: { voice: "Burcu", engine: "neural" },
    zh: { voice: "Zhiyu", engine: "neural" },
  },
};

export function canRecognize(engine: RecognizerEngine, language: LanguageCode): boolean {
  return engine !== "off" && RECOGNIZER_LANGUAGES[engine].includes(language);
}

export function canTranslate(engine: TranslatorEngine, source: LanguageCode, target: LanguageCode): boolean {
  return engine !== "off" && source !== target && TRANSLATOR_PAIRS[engine](source, target);
}

export function voiceFor(engine: SynthesizerEngine, language: LanguageCode): VoiceInfo | undefined {
  return engine === "off" ? undefined : SYNTHESIZER_VOICES[engine][language];
}

/**
 * What a listener of one language gets:
 * - `source`: the speaker's own voice (plus live captions when speech is recognised);
 * - `voice`: translated captions and synthesized speech;
 * - `captions`: translated captions, the speaker's voice underneath.
 */
export interface LanguageOffer {
  language: LanguageCode;
  kind: "source" | "voice" | "captions";
  /** Whether this language gets live captions. */
  captions: boolean;
  /** For `voice`: a caveat about the voice ("Portuguese voice"). */
  voiceNote?: string;
}

/** The target languages a speaker may pick for a source language with these engines (source excluded). */
export function targetLanguagesFor(engines: SpeechEngines, source: LanguageCode): LanguageCode[] {
  return LANGUAGE_CODES.filter((t) => canTranslate(engines.mt, source, t));
}

/**
 * What each language of a session offers, source first. Languages the engines
 * cannot serve (any more) are left out: nothing pretends.
 */
export function sessionOffers(
  engines: SpeechEngines,
  session: { sourceLanguage: LanguageCode; targetLanguages?: readonly LanguageCode[]; recognizer?: SessionRecognizer },
): LanguageOffer[] {
  const recognizer = session.recognizer ?? "off";
  const recognised = recognizer === "browser" || (recognizer === "server" && canRecognize(engines.asr, session.sourceLanguage));
  const offers: LanguageOffer[] = [{ language: session.sourceLanguage, kind: "source", captions: recognised }];
  if (!recognised) return offers;
  for (const target of session.targetLanguages ?? []) {
    if (!canTranslate(engines.mt, session.sourceLanguage, target)) continue;
    const voice = voiceFor(engines.tts, target);
    offers.push(
      voice
        ? { language: target, kind: "voice", captions: true, ...(voice.note ? { voiceNote: voice.note } : {}) }
        : { language: target, kind: "captions", captions: true },
    );
  }
  return offers;
}

// ---------------------------------------------------------------------------
// Segments, captions, speech

/** Limits of what the speaker may submit (also in docs/PROTOCOL.md). */
export const TRANSCRIPT_LIMITS = {
  /** Characters of one segment's text. */
  maxTextChars: 1000,
  /** Target languages a session may have. */
  maxTargetLanguages: 8,
  /** submitTranscript messages per connection per 10 s (partials included). */
  messagesPer10s: 60,
  /** A long run-on utterance is cut at a stable boundary after this much speech, ms. */
  maxSegmentMs: 4000,
} as const;

/**
 * A piece of recognised speech. `seq` counts final segments from 0 in a
 * session; partials carry the seq the segment will have when final.
 * Times are ms from the start of the speaker's recognition stream;
 * `spokenAt` is the speaker's wall clock (epoch ms) at `endMs`, for lag.
 */
export interface Segment {
  seq: number;
  text: string;
  startMs: number;
  endMs: number;
  final: boolean;
  spokenAt?: number;
}

/**
 * Each segment goes to translation as a sentence of its own: engines without
 * punctuation give lower-case run-ons, and machine translation of those
 * collapses. Capitalises the first letter and ends with a full stop unless
 * the text already ends a sentence.
 */
export function asSentence(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  if (!t) return t;
  const capital = t.charAt(0).toLocaleUpperCase() + t.slice(1);
  return /[.!?…。！？]$/.test(capital) ? capital : `${capital}.`;
}

/** Synthesized speech travels as MP3 (Polly's and the local engine's common format), base64 inside JSON. */
export type SpeechFormat = "mp3";

/**
 * A pushed message stays under API Gateway's 128 KB; speech audio is split
 * into parts of at most this many base64 characters (the rest of the message
 * is small).
 */
export const MAX_SPEECH_PART_CHARS = 96 * 1024;
