import { EarshotError } from "../../core/errors";
import type { LanguageCode } from "../../core/languages";
import type { ClientMessageOf, ServerMessage } from "../../core/protocol";
import type { ConnectionItem, SessionItem } from "../../core/schema";
import { canRecognize, type SpeechEngines } from "../../core/speech";
import type { Config } from "../config";
import type { SpeechServices } from "../speech/ports";
import type { Store } from "../store/store";
import type { ConnectionPort, ControlEvent, Logger } from "./ports";

/**
 * The speaker's live-translation actions, one function per action over a
 * context (the embedded gateway and the Lambda build the same context from
 * the control plane's deps).
 */

export interface TranscriptContext {
  store: Store;
  connections: ConnectionPort;
  config: Config;
  logger: Logger;
  speech?: SpeechServices;
  engines(): SpeechEngines;
  /** The session if it exists and has not ended (SESSION_NOT_FOUND / SESSION_INACTIVE otherwise). */
  liveSession(sessionId: string): Promise<SessionItem>;
}

type Reply = (message: ServerMessage) => Promise<void>;

/** Sample rate of the PCM the speaker's browser streams to the recogniser. */
export const RECOGNIZER_SAMPLE_RATE = 16_000;

/** Amazon Transcribe streaming language codes for our languages (the local recogniser takes the same). */
export const TRANSCRIBE_LANGUAGE_CODES: Partial<Record<LanguageCode, string>> = {
  ar: "ar-SA",
  ca: "ca-ES",
  de: "de-DE",
  en: "en-US",
  es: "es-US",
  fr: "fr-FR",
  hi: "hi-IN",
  it: "it-IT",
  ja: "ja-JP",
  ko: "ko-KR",
  nl: "nl-NL",
  pl: "pl-PL",
  pt: "pt-BR",
  ru: "ru-RU",
  sv: "sv-SE",
  tr: "tr-TR",
  uk: "uk-UA",
  zh: "zh-CN",
};

export function transcribeLanguageCode(language: LanguageCode): string {
  return TRANSCRIBE_LANGUAGE_CODES[language] ?? language;
}

function speakerOf(conn: ConnectionItem): { sessionId: string; speakerId: string } {
  if (conn.role !== "speaker" || !conn.speakerId || !conn.sessionId) {
    throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
  }
  return { sessionId: conn.sessionId, speakerId: conn.speakerId };
}

async function ownSession(ctx: TranscriptContext, conn: ConnectionItem): Promise<SessionItem> {
  const { sessionId, speakerId } = speakerOf(conn);
  const session = await ctx.liveSession(sessionId);
  if (session.speakerId !== speakerId) throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
  return session;
}

/** Where the speaker's browser streams microphone audio for this session. */
export async function getRecognizer(
  ctx: TranscriptContext,
  msg: ClientMessageOf<"getRecognizer">,
  conn: ConnectionItem,
  reply: Reply,
): Promise<void> {
  const session = await ownSession(ctx, conn);
  const engines = ctx.engines();
  const languageCode = transcribeLanguageCode(session.sourceLanguage);
  const base = { type: "recognizer", requestId: msg.requestId, sessionId: session.sessionId, languageCode, sampleRate: RECOGNIZER_SAMPLE_RATE } as const;
  const serverAsr = session.recognizer === "server" && canRecognize(engines.asr, session.sourceLanguage);
  if (!serverAsr || engines.asr === "off") {
    await reply({ ...base, engine: "off" });
    return;
  }
  if (engines.asr === "aws") {
    await reply({ ...base, engine: "aws", region: ctx.config.aws.region, identityPoolId: ctx.config.cognito.identityPoolId ?? "" });
    return;
  }
  const url = await ctx.speech?.recognizerUrl?.(session.sessionId, session.speakerId);
  if (!url) throw new EarshotError("ENGINE_UNAVAILABLE", "The local recogniser is not running on this server.");
  await reply({ ...base, engine: "local", url });
}

/** The speaker's recognised speech, partial or final. */
export async function submitTranscript(
  ctx: TranscriptContext,
  msg: ClientMessageOf<"submitTranscript">,
  conn: ConnectionItem,
  _reply: Reply,
  _event: ControlEvent,
): Promise<void> {
  await ownSession(ctx, conn);
  throw new EarshotError("ENGINE_UNAVAILABLE", `The translation pipeline is not running yet (segment ${msg.seq} dropped).`);
}
