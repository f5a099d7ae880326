import type { LanguageCode } from "@/lib/core/languages";
import { voiceFor, type LanguageOffer, type SpeechEngines } from "@/lib/core/speech";

/** What the server page tells the speaker's page about live translation here. */
export interface SpeakerSpeechInfo {
  /** The engines in effect (configured and, for local ones, installed). */
  engines: SpeechEngines;
  /** Why an engine is off and how to turn it on (from the engines' start-up). */
  notices: string[];
}

export const ENGINES_OFF: SpeechEngines = { asr: "off", mt: "off", tts: "off" };

/** The command that installs the local engines (README quick start). */
export const SPEECH_INSTALL_COMMAND = "npm run speech:install";

/** What a listener of a target language gets with these engines: "voice" or "captions", with the voice's caveat. */
export function targetOffer(engines: SpeechEngines, language: LanguageCode): { kind: "voice" | "captions"; note?: string } {
  const voice = voiceFor(engines.tts, language);
  return voice ? { kind: "voice", ...(voice.note ? { note: voice.note } : {}) } : { kind: "captions" };
}

/** "Voice and captions (Portuguese voice)", "Captions only", "Your voice with live captions". */
export function describeOffer(offer: Pick<LanguageOffer, "kind" | "captions" | "voiceNote">): string {
  if (offer.kind === "source") return offer.captions ? "Your voice, with live captions" : "Your voice";
  if (offer.kind === "voice") return `Translated voice and captions${offer.voiceNote ? ` (${offer.voiceNote})` : ""}`;
  return "Translated captions (your voice underneath)";
}
