import type { LanguageCode } from "../../core/languages";

/**
 * The browser's own recogniser (the Web Speech API: webkitSpeechRecognition
 * in Chrome, Edge, Safari): where it is, the tags it wants, and its types
 * (not in TypeScript's DOM library).
 */

/** The Web Speech API constructor where the browser has one. */
export function webSpeechConstructor(): WebSpeechRecognitionCtor | undefined {
  if (typeof window === "undefined") return undefined;
  const w = window as unknown as { SpeechRecognition?: WebSpeechRecognitionCtor; webkitSpeechRecognition?: WebSpeechRecognitionCtor };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition;
}

export function hasWebSpeech(): boolean {
  return webSpeechConstructor() !== undefined;
}

/** BCP 47 tag for the Web Speech API (it wants a region for English, Spanish, ...). */
export const WEB_SPEECH_TAGS: Partial<Record<LanguageCode, string>> = { en: "en-US", es: "es-ES", pt: "pt-PT", zh: "zh-CN", ar: "ar-SA", ca: "ca-ES", gl: "gl-ES" };

interface WebSpeechAlternative {
  transcript: string;
  confidence: number;
}
interface WebSpeechResult {
  readonly isFinal: boolean;
  readonly length: number;
  [index: number]: WebSpeechAlternative | undefined;
}
interface WebSpeechResultEvent {
  readonly resultIndex: number;
  readonly results: { readonly length: number; [index: number]: WebSpeechResult | undefined };
}
interface WebSpeechErrorEvent {
  readonly error: string;
  readonly message?: string;
}
export interface WebSpeechRecognition {
  continuous: boolean;
  interimResults: boolean;
  lang: string;
  onresult: ((event: WebSpeechResultEvent) => void) | null;
  onerror: ((event: WebSpeechErrorEvent) => void) | null;
  onend: (() => void) | null;
  onstart: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}
export type WebSpeechRecognitionCtor = new () => WebSpeechRecognition;
