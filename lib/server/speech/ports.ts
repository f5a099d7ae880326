import type { LanguageCode } from "../../core/languages";
import type { SpeechEngines } from "../../core/speech";

/**
 * The three engine ports of live translation. The pipeline
 * (lib/server/speech/pipeline.ts) sees only these; lib/server/speech/engines/
 * builds them from config. Translation and synthesis always go through the
 * AWS SDK clients (Amazon Translate, Amazon Polly): with the local engines the
 * clients' request handler answers in-process from Apertium and espeak-ng, so
 * the cloud code path is the one that runs here too.
 */

export interface Translator {
  /** Translates one sentence. Rejects with an EarshotError (ENGINE_UNAVAILABLE, INTERNAL_ERROR) on failure. */
  translate(text: string, source: LanguageCode, target: LanguageCode): Promise<string>;
}

export interface SynthesizedSpeech {
  audio: Uint8Array;
  format: "mp3";
  durationMs: number;
}

export interface Synthesizer {
  /** Speaks one sentence in the language's configured voice. */
  synthesize(text: string, language: LanguageCode): Promise<SynthesizedSpeech>;
}

/** Everything the control plane needs of the speech engines. */
export interface SpeechServices {
  /** The engines in effect: configured, and for local ones installed. */
  engines: SpeechEngines;
  translator?: Translator;
  synthesizer?: Synthesizer;
  /**
   * Where the speaker's browser streams audio for a session (local: the
   * embedded /transcribe endpoint with a grant). Undefined when recognition
   * is off on the server.
   */
  recognizerUrl?(sessionId: string, speakerId: string): Promise<string | undefined>;
  /** Why an engine is off, for the start-up banner and the speaker page ("pocketsphinx is not installed: run npm run speech:install"). */
  notices: string[];
}
