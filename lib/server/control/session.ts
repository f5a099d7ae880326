import { EarshotError } from "../../core/errors";
import type { BroadcastEvent, ServerMessage } from "../../core/protocol";
import type { SessionItem } from "../../core/schema";
import { isValidSessionId } from "../../core/session-id";
import { sessionOffers } from "../../core/speech";
import { liveSession, requireLanguage, requireSession, speakerOf, type ActionHandler, type ActionTable } from "./context";
import { forEachConnection, tell } from "./fanout";
import { requireOfferedIn, rememberLanguages, speechSettings } from "./languages";
import { countOrUndo, disconnect, release } from "./lifecycle";
import { broadcastState, statusMessage } from "./status";

/**
 * A session's actions: the speaker creates, pauses/resumes/mutes, starts and
 * stops, and ends it; listeners join, change language and leave; anyone
 * connected sends heartbeats and asks for the status.
 */

export const createSession: ActionHandler<"createSession"> = async (ctx, msg, conn, reply, event) => {
  const { store, config, logger } = ctx;
  let speakerId = conn.role === "speaker" ? conn.speakerId : undefined;
  if (msg.token !== undefined) {
    const claims = await ctx.verifier.verifySpeaker(msg.token);
    if (speakerId && claims.speakerId !== speakerId) throw new EarshotError("UNAUTHORIZED", "The token belongs to another speaker.");
    speakerId = claims.speakerId;
  }
  if (!speakerId || conn.role !== "speaker") {
    throw new EarshotError("UNAUTHORIZED_ACTION", "Only a signed-in speaker may create a session; connect with a speaker token.");
  }
  if (conn.sessionId) {
    const current = await store.getSession(conn.sessionId, true);
    if (current && current.status !== "ended") {
      throw new EarshotError("CONFLICT", `This connection already runs session ${current.sessionId}; end it first.`);
    }
  }
  const sourceLanguage = requireLanguage(msg.sourceLanguage);
  const { targetLanguages, recognizer } = speechSettings(ctx.engines(), sourceLanguage, msg.targetLanguages, msg.recognizer);
  await store.enforce(`create:${speakerId}`, config.limits.sessionsPerHour, 3600, "sessions created");

  const session = await store.createSession({
    speakerId,
    title: msg.title ?? "",
    sourceLanguage,
    ttlSeconds: config.sessionTtlSeconds,
    targetLanguages,
    recognizer,
  });
  try {
    await ctx.channels.ensure(session.sessionId, 1);
    await store.attachSpeaker(event.connectionId, session.sessionId);
    await store.setSpeakerConnection(session.sessionId, event.connectionId);
  } catch (error) {
    // Nothing half-made: a session whose channel could not be made is ended at once.
    await store.endSession(session.sessionId, speakerId).catch(() => undefined);
    throw error;
  }
  rememberLanguages(session);
  logger.info("session created", { sessionId: session.sessionId, speakerId });
  await reply({
    type: "sessionCreated",
    requestId: msg.requestId,
    sessionId: session.sessionId,
    joinUrl: `${config.publicUrl}/join/${session.sessionId}`,
    title: session.title,
    sourceLanguage: session.sourceLanguage,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
    broadcastState: broadcastState(session),
    targetLanguages: session.targetLanguages ?? [],
    recognizer: session.recognizer ?? "off",
    offers: sessionOffers(ctx.engines(), session),
  });
};

export const joinSession: ActionHandler<"joinSession"> = async (ctx, msg, conn, reply, event) => {
  const { store } = ctx;
  if (!isValidSessionId(msg.sessionId)) throw new EarshotError("INVALID_PARAMETER", "sessionId is malformed.");
  const language = requireLanguage(msg.targetLanguage);
  if (conn.sessionId !== msg.sessionId) {
    throw new EarshotError("INVALID_PARAMETER", "This connection belongs to another session; connect with ?sessionId= of the session to join.");
  }
  if (conn.role === "listener" && msg.clientKey) {
    // A reconnect: the connection this client had before is replaced, whatever state its socket is in.
    const previous = await store.claimResumeKey(msg.sessionId, msg.clientKey, event.connectionId);
    if (previous) {
      await ctx.connections.close(previous, 4000, "replaced by a newer connection");
      await disconnect(ctx, previous);
    }
  }
  let session: SessionItem | undefined;
  const speech = conn.role === "listener" && msg.speech !== false;
  if (conn.role === "listener") {
    await requireOfferedIn(ctx, msg.sessionId, language);
    const before = await store.markJoined(event.connectionId, msg.sessionId, language, msg.clientKey, speech);
    if (!before) throw new EarshotError("SESSION_NOT_FOUND", "This connection is no longer registered; reconnect.");
    if (before.joinedLanguage !== language) {
      const deltas = before.joinedLanguage ? { [before.joinedLanguage]: -1, [language]: 1 } : { [language]: 1 };
      // The count update returns the session, so a join costs no separate read; a session that
      // ended or expired meanwhile gets its count back and the join is refused.
      session = await countOrUndo(ctx, msg.sessionId, deltas, {}, () => store.restoreListener(event.connectionId, language, before));
      ctx.notifier.countsChanged(msg.sessionId);
      if (!session || session.status === "ended" || session.expiresAt <= Date.now() / 1000) {
        const undo = await store.markLeft(event.connectionId);
        if (undo) await release(ctx, undo, () => store.restoreListener(event.connectionId, undefined, undo));
        throw new EarshotError(session?.status === "ended" ? "SESSION_INACTIVE" : "SESSION_NOT_FOUND");
      }
    }
  }
  session ??= await liveSession(ctx, msg.sessionId);
  await reply({
    type: "sessionJoined",
    requestId: msg.requestId,
    sessionId: session.sessionId,
    role: conn.role,
    title: session.title,
    targetLanguage: language,
    sourceLanguage: session.sourceLanguage,
    listenerCount: session.listenerCount,
    broadcastState: broadcastState(session),
    offers: sessionOffers(ctx.engines(), session),
    speech,
  });
};

export const changeLanguage: ActionHandler<"changeLanguage"> = async (ctx, msg, conn, reply, event) => {
  const language = requireLanguage(msg.targetLanguage);
  const sessionId = requireSession(conn);
  if (conn.role !== "listener") throw new EarshotError("UNAUTHORIZED_ACTION", "Only listeners choose a target language.");
  if (!conn.joinedLanguage) throw new EarshotError("INVALID_ACTION", "Join the session before changing language.");
  await requireOfferedIn(ctx, sessionId, language);
  const speech = msg.speech !== false;
  const before = await ctx.store.markLanguage(event.connectionId, language, speech);
  if (!before?.joinedLanguage) throw new EarshotError("INVALID_ACTION", "Join the session before changing language.");
  if (before.joinedLanguage !== language) {
    await countOrUndo(ctx, sessionId, { [before.joinedLanguage]: -1, [language]: 1 }, {}, () => ctx.store.restoreListener(event.connectionId, language, before));
    ctx.notifier.countsChanged(sessionId);
  }
  await reply({ type: "languageChanged", requestId: msg.requestId, sessionId, targetLanguage: language, previousLanguage: before.joinedLanguage, speech });
};

export const leaveSession: ActionHandler<"leaveSession"> = async (ctx, msg, conn, reply, event) => {
  const sessionId = requireSession(conn);
  if (conn.role === "listener") {
    const before = await ctx.store.markLeft(event.connectionId);
    if (before) await release(ctx, before, () => ctx.store.restoreListener(event.connectionId, undefined, before));
  }
  await reply({ type: "sessionLeft", requestId: msg.requestId, sessionId });
};

type BroadcastAction = "pauseBroadcast" | "resumeBroadcast" | "muteBroadcast" | "unmuteBroadcast" | "startBroadcast" | "stopBroadcast";

/** The speaker changes the broadcast state; everyone connected is told. */
function broadcastChange<A extends BroadcastAction>(
  patch: { status?: "active" | "paused"; muted?: boolean; live?: boolean },
  type: BroadcastEvent,
): ActionHandler<A> {
  return async (ctx, msg, conn, _reply, event) => {
    const { sessionId, speakerId } = speakerOf(conn);
    const session = await ctx.store.updateBroadcast(sessionId, speakerId, patch);
    await tell(ctx, session, type, msg.requestId, event.connectionId);
  };
}

export const pauseBroadcast = broadcastChange<"pauseBroadcast">({ status: "paused" }, "broadcastPaused");
export const resumeBroadcast = broadcastChange<"resumeBroadcast">({ status: "active" }, "broadcastResumed");
export const muteBroadcast = broadcastChange<"muteBroadcast">({ muted: true }, "broadcastMuted");
export const unmuteBroadcast = broadcastChange<"unmuteBroadcast">({ muted: false }, "broadcastUnmuted");
export const startBroadcast = broadcastChange<"startBroadcast">({ live: true }, "broadcastStarted");
export const stopBroadcast = broadcastChange<"stopBroadcast">({ live: false }, "broadcastStopped");

export const endSession: ActionHandler<"endSession"> = async (ctx, msg, conn, reply) => {
  const { sessionId, speakerId } = speakerOf(conn);
  const { session, changed } = await ctx.store.endSession(sessionId, speakerId);
  const ended = { type: "sessionEnded", sessionId, reason: "ended" } as const satisfies ServerMessage;
  await forEachConnection(ctx, sessionId, async (c) => {
    if (c.role === "speaker") return;
    await ctx.connections.post(c.connectionId, ended);
    await ctx.connections.close(c.connectionId, 1000, "session ended");
  });
  await reply({ ...ended, requestId: msg.requestId });
  if (changed) {
    await ctx.channels.remove(sessionId, session.channelCount).catch((error: unknown) => ctx.logger.warn("could not remove signaling channels", { sessionId, error }));
    ctx.logger.info("session ended", { sessionId });
  }
};

export const heartbeat: ActionHandler<"heartbeat"> = async (ctx, msg, _conn, reply, event) => {
  await ctx.store.touchConnection(event.connectionId);
  await reply({ type: "heartbeatAck", requestId: msg.requestId, timestamp: Date.now() });
};

export const getSessionStatus: ActionHandler<"getSessionStatus"> = async (ctx, msg, conn, reply) => {
  const session = await ctx.store.getSession(requireSession(conn), true);
  if (!session) throw new EarshotError("SESSION_NOT_FOUND");
  await reply(statusMessage(session, msg.requestId));
};

export const sessionActions = {
  createSession,
  joinSession,
  changeLanguage,
  leaveSession,
  pauseBroadcast,
  resumeBroadcast,
  muteBroadcast,
  unmuteBroadcast,
  startBroadcast,
  stopBroadcast,
  endSession,
  heartbeat,
  getSessionStatus,
} satisfies Partial<ActionTable>;
