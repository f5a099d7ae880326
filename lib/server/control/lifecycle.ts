import { EarshotError } from "../../core/errors";
import { isLanguageCode, type LanguageCode } from "../../core/languages";
import type { ConnectionItem, SessionItem } from "../../core/schema";
import { isValidSessionId } from "../../core/session-id";
import type { SpeakerClaims } from "../tokens";
import type { ControlContext } from "./context";
import { tell } from "./fanout";
import type { ControlEvent } from "./ports";

/**
 * A connection's life: `$connect` (who it is, which session), and every way
 * it goes away (`$disconnect`, a post that found it gone, a sweep), which
 * gives back what it was counted for.
 */

/** `$connect`: registers the connection row, or throws the error that refuses the upgrade. */
export async function connect(ctx: ControlContext, event: ControlEvent): Promise<void> {
  const { store, config } = ctx;
  const q = event.query ?? {};
  await store.enforce(`connect:${event.sourceIp}`, config.limits.connectsPerMinute, 60, "connection attempts");

  // A token that is present is checked, and a bad one is refused: never downgraded to listener.
  let speaker: SpeakerClaims | undefined;
  if (q.token !== undefined) speaker = await ctx.verifier.verifySpeaker(q.token);

  const sessionId = q.sessionId;
  if (sessionId === undefined || sessionId === "") {
    if (!speaker) throw new EarshotError("INVALID_SESSION_ID", "A sessionId is required.");
    await store.putConnection({ connectionId: event.connectionId, role: "speaker", speakerId: speaker.speakerId, sourceIp: event.sourceIp });
    return;
  }
  if (!isValidSessionId(sessionId)) throw new EarshotError("INVALID_SESSION_ID");

  // The same budget as the HTTP lookup API (lib/server/http/public-session.ts): guessing codes costs the same either way.
  const session = await store.guardedLookup(event.sourceIp, config.limits.failedLookupsPerMinute, () => store.getSession(sessionId));
  if (!session) throw new EarshotError("SESSION_NOT_FOUND");
  if (session.status === "ended") throw new EarshotError("SESSION_INACTIVE");

  if (speaker && speaker.speakerId === session.speakerId) {
    await store.putConnection({ connectionId: event.connectionId, role: "speaker", speakerId: speaker.speakerId, sessionId, sourceIp: event.sourceIp });
    await store.setSpeakerConnection(sessionId, event.connectionId);
    return;
  }

  let targetLanguage: LanguageCode = session.sourceLanguage;
  if (q.targetLanguage !== undefined && q.targetLanguage !== "") {
    if (!isLanguageCode(q.targetLanguage)) throw new EarshotError("UNSUPPORTED_LANGUAGE", `Language "${q.targetLanguage.slice(0, 16)}" is not supported.`);
    targetLanguage = q.targetLanguage;
  }
  await store.putConnection({ connectionId: event.connectionId, role: "listener", sessionId, targetLanguage, sourceIp: event.sourceIp });
}

/**
 * Moves a session's counts after a connection row changed. When the count
 * write fails, `undo` puts the row back first, so the error the client gets
 * and the stored state agree (a row and counts that disagree would wait for
 * a quiet-session reconcile); then the failure is thrown.
 */
export async function countOrUndo(
  ctx: Pick<ControlContext, "store" | "logger">,
  sessionId: string,
  languages: Partial<Record<LanguageCode, number>>,
  shards: Record<number, number>,
  undo: () => Promise<unknown>,
): Promise<SessionItem | undefined> {
  try {
    return await ctx.store.adjustCounts(sessionId, languages, shards);
  } catch (error) {
    await undo().catch((undoError: unknown) =>
      ctx.logger.error("could not undo a row change after a failed count write; the sweeper reconciles it", { sessionId, error: undoError }),
    );
    throw error;
  }
}

/**
 * Un-counts what a departed connection held. `old` is the row as it was, so this runs once per departure;
 * `undo` puts the row back when the count write fails.
 */
export async function release(ctx: ControlContext, old: ConnectionItem, undo: () => Promise<unknown>): Promise<void> {
  if (!old.sessionId) return;
  if (old.role === "listener") {
    const languages = old.joinedLanguage ? { [old.joinedLanguage]: -1 } : {};
    const shards = old.channelIndex !== undefined ? { [old.channelIndex]: -1 } : {};
    if (old.joinedLanguage || old.channelIndex !== undefined) {
      await countOrUndo(ctx, old.sessionId, languages, shards, undo);
      if (old.joinedLanguage) ctx.notifier.countsChanged(old.sessionId);
    }
    // The slot is given back: so is the relay connection (and the grant) that held it.
    if (old.channelIndex !== undefined && old.viewerClientId) {
      await ctx.channels.releaseViewer?.(old.sessionId, old.channelIndex, old.viewerClientId);
    }
  } else {
    const session = await ctx.store.setSpeakerConnection(old.sessionId, undefined, old.connectionId);
    // The speaker's control channel is gone: listeners learn the broadcast is not live.
    if (session && session.status !== "ended") await tell(ctx, session, "broadcastStopped");
  }
}

/** `$disconnect`, and every other way a connection goes away: deletes its row and un-counts it. */
/**
 * How long after `$connect` a connection that a post could not reach is
 * still kept: its row is written before its socket opens (in the embedded
 * gateway the upgrade completes after `$connect` returns; API Gateway refuses
 * posts until `$connect` has returned), so a fan-out in that moment would
 * otherwise delete a listener that is just arriving, whose join then fails
 * ("no longer registered"). A connection that is really gone is removed by
 * the sweep (its grace is 60 s) or by its own `$disconnect`.
 */
export const GONE_GRACE_MS = 10_000;

/** A post found the connection gone: forget it (un-count, delete), unless it is still opening. */
export async function forgetGone(ctx: ControlContext, connectionId: string): Promise<void> {
  const row = await ctx.store.getConnection(connectionId);
  if (!row || Date.now() - row.connectedAt < GONE_GRACE_MS) return;
  await disconnect(ctx, connectionId);
}

export async function disconnect(ctx: ControlContext, connectionId: string): Promise<void> {
  const old = await ctx.store.deleteConnection(connectionId);
  if (!old) return;
  // A failed un-count puts the row back: the sweeper then removes it (its socket is gone) and un-counts it again.
  await release(ctx, old, () => ctx.store.restoreConnection(old));
  if (old.resumeKey) await ctx.store.releaseResumeKey(old.resumeKey, connectionId);
}
