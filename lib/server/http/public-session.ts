import { EarshotError } from "../../core/errors";
import { normalizeSessionId } from "../../core/session-id";
import { sessionOffers } from "../../core/speech";
import type { Config } from "../config";
import type { SpeechServices } from "../speech/ports";
import type { Store } from "../store/store";
import type { PublicSessionInfo } from "./dto";

/**
 * The public view of a session, for the join API and the listener page (one
 * implementation for both). Carries no speaker data.
 *
 * Order matters: the id's format is checked before anything is looked up;
 * every lookup counts against the client's per-minute budget; a miss also
 * counts against the smaller budget for failed lookups, so ids cannot be
 * guessed at speed.
 */
/** The canonical session id, or INVALID_SESSION_ID. A pure format check: no lookup. */
export function requireSessionId(raw: string): string {
  const sessionId = normalizeSessionId(raw);
  if (!sessionId) throw new EarshotError("INVALID_SESSION_ID", "Session codes look like quiet-harbor-042.");
  return sessionId;
}

export async function lookupPublicSession(
  deps: { store: Store; config: Pick<Config, "limits">; speech?: Pick<SpeechServices, "engines"> },
  rawSessionId: string,
  clientIp: string,
): Promise<PublicSessionInfo> {
  const sessionId = requireSessionId(rawSessionId);
  const { store, config } = deps;
  await store.enforce(`lookup:${clientIp}`, config.limits.lookupsPerMinute, 60, "session lookups");
  const session = await store.guardedLookup(clientIp, config.limits.failedLookupsPerMinute, () => store.getSession(sessionId));
  if (!session) throw new EarshotError("SESSION_NOT_FOUND", "No session has that code, or it has expired.");
  // Without speech services (engines off), a session offers its source language only.
  const offers = sessionOffers(deps.speech?.engines ?? { asr: "off", mt: "off", tts: "off" }, session);
  return {
    sessionId: session.sessionId,
    title: session.title,
    sourceLanguage: session.sourceLanguage,
    status: session.status,
    live: session.live,
    listenerCount: Math.max(0, session.listenerCount),
    targetLanguages: offers.map((o) => o.language),
    offers,
    createdAt: session.createdAt,
  };
}
