import { EarshotError } from "../../core/errors";
import type { LanguageCode } from "../../core/languages";
import type { SessionItem } from "../../core/schema";
import { TRANSCRIPT_LIMITS, canRecognize, sessionOffers, translatable, type SessionRecognizer, type SpeechEngines } from "../../core/speech";
import { requireLanguage, type ControlContext } from "./context";

/**
 * Which languages a session offers: checked when a speaker creates one
 * (targets and recogniser against the engines in effect) and when a listener
 * picks one.
 *
 * What a session offers depends on fields fixed at creation (source, targets,
 * recognizer): kept per process for a few minutes so a join costs no extra
 * read (an expired session's id may be reused later: entries age out).
 * Bounded; the oldest entries go first.
 */
type SessionLanguages = Pick<SessionItem, "sourceLanguage" | "targetLanguages" | "recognizer"> & { at: number };
const sessionLanguages = new Map<string, SessionLanguages>();
const MAX_SESSION_LANGUAGES = 10_000;
const SESSION_LANGUAGES_MS = 10 * 60_000;

export function rememberLanguages(session: SessionItem): SessionLanguages {
  const entry = { sourceLanguage: session.sourceLanguage, targetLanguages: session.targetLanguages, recognizer: session.recognizer, at: Date.now() };
  sessionLanguages.delete(session.sessionId);
  sessionLanguages.set(session.sessionId, entry);
  if (sessionLanguages.size > MAX_SESSION_LANGUAGES) sessionLanguages.delete(sessionLanguages.keys().next().value as string);
  return entry;
}

/** A language a listener may pick in this session: the source, or one the session offers now. */
export async function requireOfferedIn(ctx: Pick<ControlContext, "store" | "engines">, sessionId: string, language: LanguageCode): Promise<void> {
  let known = sessionLanguages.get(sessionId);
  if (!known || Date.now() - known.at > SESSION_LANGUAGES_MS) {
    const session = await ctx.store.getSession(sessionId);
    if (!session) throw new EarshotError("SESSION_NOT_FOUND");
    known = rememberLanguages(session);
  }
  requireOffered(ctx.engines(), known, language);
}

function requireOffered(engines: SpeechEngines, session: SessionLanguages, language: LanguageCode): void {
  if (language === session.sourceLanguage) return;
  const offered = sessionOffers(engines, session).map((o) => o.language);
  if (!offered.includes(language)) {
    throw new EarshotError(
      "UNSUPPORTED_LANGUAGE",
      `This session does not offer "${language}"; it offers ${offered.join(", ")}.`,
    );
  }
}

/** Validates the speaker's target languages and recogniser choice against the engines in effect. */
export function speechSettings(
  e: SpeechEngines,
  source: LanguageCode,
  requested: readonly string[] | undefined,
  asked: SessionRecognizer | undefined,
): { targetLanguages: LanguageCode[]; recognizer: SessionRecognizer } {
  const serverAsr = canRecognize(e.asr, source);
  let recognizer: SessionRecognizer;
  if (asked === "server" && !serverAsr) {
    throw new EarshotError(
      "ENGINE_UNAVAILABLE",
      e.asr === "off"
        ? "Speech recognition is off on this server; use the browser's recogniser (recognizer: \"browser\") or none."
        : `The server's recogniser (${e.asr}) does not serve "${source}"; use the browser's recogniser or none.`,
    );
  }
  if (asked) recognizer = asked;
  else recognizer = serverAsr ? "server" : "off";
  const targetLanguages: LanguageCode[] = [];
  for (const raw of requested ?? []) {
    const target = requireLanguage(raw);
    if (target === source || targetLanguages.includes(target)) continue;
    if (!translatable(e, source, target)) {
      throw new EarshotError(
        "UNSUPPORTED_LANGUAGE",
        e.mt === "off"
          ? `Cannot translate into "${target}": translation is off on this server.`
          : `Cannot translate from "${source}" into "${target}" with the translation engine in effect (${e.mt}).`,
      );
    }
    targetLanguages.push(target);
  }
  if (targetLanguages.length > TRANSCRIPT_LIMITS.maxTargetLanguages) {
    throw new EarshotError("INVALID_PARAMETER", `At most ${TRANSCRIPT_LIMITS.maxTargetLanguages} target languages.`);
  }
  return { targetLanguages, recognizer };
}
