import { EarshotError } from "../../core/errors";
import { isLanguageCode, type LanguageCode } from "../../core/languages";
import type { ClientMessage, ClientMessageOf, ServerMessage } from "../../core/protocol";
import type { ConnectionItem, SessionItem } from "../../core/schema";
import type { SpeechEngines } from "../../core/speech";
import type { Config } from "../config";
import type { SpeechPipeline } from "../speech/pipeline";
import type { SpeechServices } from "../speech/ports";
import type { Store } from "../store/store";
import type { TokenVerifier } from "../tokens";
import type { ConnectionPort, ControlEvent, Logger, MediaChannels, StatusNotifier } from "./ports";

/**
 * What every control-plane function runs over: the ports the runtime hands
 * in (ControlPlaneDeps) plus what handlers.ts builds from them once. Handlers
 * are module-level functions `(ctx, msg, conn, reply, event)`, one per action,
 * grouped by concern (session.ts, media.ts, transcript.ts); the guards every
 * handler file uses live here too.
 */

export interface ControlPlaneDeps {
  store: Store;
  connections: ConnectionPort;
  notifier: StatusNotifier;
  channels: MediaChannels;
  verifier: TokenVerifier;
  config: Config;
  logger: Logger;
  /** The speech engines (translation, synthesis, the recogniser's URL). Absent: every engine is off. */
  speech?: SpeechServices;
}

export interface ControlContext extends ControlPlaneDeps {
  /** The engines in effect now. */
  engines(): SpeechEngines;
  /** Final segments: translate, synthesize, push, store. */
  pipeline: SpeechPipeline;
  /** A post found the connection gone: un-count and delete it, unless it is still opening (lifecycle.ts `forgetGone`). */
  forget(connectionId: string): Promise<void>;
}

/** The engines in effect for these deps. */
export function enginesOf(speech: SpeechServices | undefined): SpeechEngines {
  return speech?.engines ?? { asr: "off", mt: "off", tts: "off" };
}

export type Reply = (message: ServerMessage) => Promise<void>;

/** One action's handler: the parsed message, the sender's connection row, a reply to the sender, the raw event. */
export type ActionHandler<A extends ClientMessage["action"]> = (
  ctx: ControlContext,
  msg: ClientMessageOf<A>,
  conn: ConnectionItem,
  reply: Reply,
  event: ControlEvent,
) => Promise<void>;

/** Every action's handler; each handler file exports its part (`satisfies Partial<ActionTable>`). */
export type ActionTable = { [A in ClientMessage["action"]]: ActionHandler<A> };

// ---------------------------------------------------------------------------
// Guards shared by the handler files

export function requireSession(conn: ConnectionItem): string {
  if (!conn.sessionId) throw new EarshotError("SESSION_NOT_FOUND", "This connection has no session yet.");
  return conn.sessionId;
}

export function requireLanguage(value: string): LanguageCode {
  if (!isLanguageCode(value)) throw new EarshotError("UNSUPPORTED_LANGUAGE", `Language "${value.slice(0, 16)}" is not supported.`);
  return value;
}

export function speakerOf(conn: ConnectionItem): { sessionId: string; speakerId: string } {
  if (conn.role !== "speaker" || !conn.speakerId || !conn.sessionId) {
    throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
  }
  return { sessionId: conn.sessionId, speakerId: conn.speakerId };
}

/** The session if it exists and has not ended (SESSION_NOT_FOUND / SESSION_INACTIVE otherwise). */
export async function liveSession(ctx: Pick<ControlContext, "store">, sessionId: string): Promise<SessionItem> {
  const session = await ctx.store.getSession(sessionId, true);
  if (!session) throw new EarshotError("SESSION_NOT_FOUND");
  if (session.status === "ended") throw new EarshotError("SESSION_INACTIVE");
  return session;
}
