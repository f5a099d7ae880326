import { randomUUID } from "node:crypto";
import { EarshotError, toEarshotError } from "../../core/errors";
import { isLanguageCode, type LanguageCode } from "../../core/languages";
import {
  SPEAKER_ACTIONS,
  parseClientMessage,
  type BroadcastEvent,
  type BroadcastState,
  type ClientMessage,
  type ClientMessageOf,
  type ServerMessage,
} from "../../core/protocol";
import { languageDistribution, shardViewersAttribute, type ConnectionItem, type SessionItem } from "../../core/schema";
import { isValidSessionId } from "../../core/session-id";
import { TRANSCRIPT_LIMITS, canRecognize, translatable, sessionOffers, type LanguageOffer, type SessionRecognizer, type SpeechEngines } from "../../core/speech";
import { SpeechPipeline } from "../speech/pipeline";
import type { SpeechServices } from "../speech/ports";
import { getRecognizer, submitTranscript, type TranscriptContext } from "./transcript";
import type { Config } from "../config";
import type { Store } from "../store/store";
import type { SpeakerClaims, TokenVerifier } from "../tokens";
import type { ConnectionPort, ControlEvent, ControlResult, Logger, MediaChannels, StatusNotifier } from "./ports";

/**
 * The WebSocket control plane: API Gateway's route keys in, statuses and
 * messages out through ports. The embedded gateway and the Lambda both wrap
 * exactly this module.
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

/** The engines in effect for these deps. */
export function enginesOf(speech: SpeechServices | undefined): SpeechEngines {
  return speech?.engines ?? { asr: "off", mt: "off", tts: "off" };
}

/** Listeners holding a media slot (they hear the original): the sum of the session's shard viewer counts. */
export function originalListeners(session: SessionItem): number {
  let total = 0;
  for (let k = 0; k < session.channelCount; k++) {
    const n = session[shardViewersAttribute(k)];
    if (typeof n === "number" && n > 0) total += n;
  }
  return total;
}

/** What each language of a stored session offers with these engines. */
export function offersOf(engines: SpeechEngines, session: SessionItem): LanguageOffer[] {
  return sessionOffers(engines, session);
}

/**
 * What a session offers depends on fields fixed at creation (source, targets,
 * recognizer): kept per process for a few minutes so a join costs no extra
 * read (an expired session's id may be reused later: entries age out).
 * Bounded; the oldest entries go first.
 */
type SessionLanguages = Pick<SessionItem, "sourceLanguage" | "targetLanguages" | "recognizer"> & { at: number };
const sessionLanguages = new Map<string, SessionLanguages>();
const MAX_SESSION_LANGUAGES = 10_000;
const SESSION_LANGUAGES_MS = 10 * 60_000;

function rememberLanguages(session: SessionItem): SessionLanguages {
  const entry = { sourceLanguage: session.sourceLanguage, targetLanguages: session.targetLanguages, recognizer: session.recognizer, at: Date.now() };
  sessionLanguages.delete(session.sessionId);
  sessionLanguages.set(session.sessionId, entry);
  if (sessionLanguages.size > MAX_SESSION_LANGUAGES) sessionLanguages.delete(sessionLanguages.keys().next().value as string);
  return entry;
}

export interface ControlPlane {
  handle(event: ControlEvent): Promise<ControlResult>;
  /**
   * Removes connection rows whose socket is gone and un-counts them; tells
   * and closes connections of sessions that expired; then recomputes every
   * open session's counts from the rows that remain. Returns what it did.
   */
  sweep(isAlive: (connection: ConnectionItem) => Promise<boolean> | boolean, options?: SweepOptions): Promise<SweepReport>;
}

export interface SweepOptions {
  /** Rows younger than this may still be inside `$connect` and are left alone (default 60 s). */
  graceMs?: number;
  /** Counts are corrected only in sessions whose counts and rows stood still this long (default 30 s). */
  quietMs?: number;
  /** ...and that show the same drift twice this far apart (default 2 s). */
  settleMs?: number;
}

export interface SweepReport {
  scanned: number;
  removed: number;
  expired: number;
  /** Sessions whose stored counts disagreed with their connections and were corrected. */
  corrected: number;
  /** Live listener sockets closed because they never joined within the grace period. */
  unjoined: number;
}

/** Per-language and per-shard counts implied by a session's connection rows. */
export function countsFromConnections(rows: ConnectionItem[]): { languages: Partial<Record<LanguageCode, number>>; shards: Record<number, number>; total: number } {
  const languages: Partial<Record<LanguageCode, number>> = {};
  const shards: Record<number, number> = {};
  let total = 0;
  for (const r of rows) {
    if (r.role !== "listener") continue;
    if (r.joinedLanguage) {
      languages[r.joinedLanguage] = (languages[r.joinedLanguage] ?? 0) + 1;
      total++;
    }
    if (r.channelIndex !== undefined) shards[r.channelIndex] = (shards[r.channelIndex] ?? 0) + 1;
  }
  return { languages, shards, total };
}

const OK: ControlResult = { statusCode: 200 };

function reject(error: EarshotError): ControlResult {
  return { statusCode: error.status, error: error.toBody(), retryAfter: error.retryAfter };
}

export function broadcastState(session: SessionItem): BroadcastState {
  return { status: session.status, muted: session.muted, live: session.live };
}

/** Pushes the current counts to the session's speaker (read consistently, so a late push is never stale). */
export async function pushStatus(deps: Pick<ControlPlaneDeps, "store" | "connections">, sessionId: string): Promise<void> {
  const session = await deps.store.getSession(sessionId, true);
  if (!session?.speakerConnectionId) return;
  const delivered = await deps.connections.post(session.speakerConnectionId, statusMessage(session));
  if (!delivered) await deps.store.setSpeakerConnection(sessionId, undefined, session.speakerConnectionId);
}

function statusMessage(session: SessionItem, requestId?: string): ServerMessage {
  return {
    type: "sessionStatus",
    requestId,
    sessionId: session.sessionId,
    listenerCount: session.listenerCount,
    languageDistribution: languageDistribution(session),
    originalListeners: originalListeners(session),
    broadcastState: broadcastState(session),
    timestamp: Date.now(),
  };
}

export function createControlPlane(deps: ControlPlaneDeps): ControlPlane {
  const { store, connections, notifier, config, logger } = deps;
  const engines = (): SpeechEngines => enginesOf(deps.speech);

  // ---------------------------------------------------------------------------
  // $connect

  async function connect(event: ControlEvent): Promise<ControlResult> {
    const q = event.query ?? {};
    await store.enforce(`connect:${event.sourceIp}`, config.limits.connectsPerMinute, 60, "connection attempts");

    // A token that is present is checked, and a bad one is refused: never downgraded to listener.
    let speaker: SpeakerClaims | undefined;
    if (q.token !== undefined) speaker = await deps.verifier.verifySpeaker(q.token);

    const sessionId = q.sessionId;
    if (sessionId === undefined || sessionId === "") {
      if (!speaker) throw new EarshotError("INVALID_SESSION_ID", "A sessionId is required.");
      await store.putConnection({ connectionId: event.connectionId, role: "speaker", speakerId: speaker.speakerId, sourceIp: event.sourceIp });
      return OK;
    }
    if (!isValidSessionId(sessionId)) throw new EarshotError("INVALID_SESSION_ID");

    // The same budget as the HTTP lookup API (lib/server/http/public-session.ts): guessing codes costs the same either way.
    const session = await store.guardedLookup(event.sourceIp, config.limits.failedLookupsPerMinute, () => store.getSession(sessionId));
    if (!session) throw new EarshotError("SESSION_NOT_FOUND");
    if (session.status === "ended") throw new EarshotError("SESSION_INACTIVE");

    if (speaker && speaker.speakerId === session.speakerId) {
      await store.putConnection({ connectionId: event.connectionId, role: "speaker", speakerId: speaker.speakerId, sessionId, sourceIp: event.sourceIp });
      await store.setSpeakerConnection(sessionId, event.connectionId);
      return OK;
    }

    let targetLanguage: LanguageCode = session.sourceLanguage;
    if (q.targetLanguage !== undefined && q.targetLanguage !== "") {
      if (!isLanguageCode(q.targetLanguage)) throw new EarshotError("UNSUPPORTED_LANGUAGE", `Language "${q.targetLanguage.slice(0, 16)}" is not supported.`);
      targetLanguage = q.targetLanguage;
    }
    await store.putConnection({ connectionId: event.connectionId, role: "listener", sessionId, targetLanguage, sourceIp: event.sourceIp });
    return OK;
  }

  // ---------------------------------------------------------------------------
  // $disconnect and every other way a connection goes away

  /**
   * Moves a session's counts after a connection row changed. When the count
   * write fails, `undo` puts the row back first, so the error the client gets
   * and the stored state agree (a row and counts that disagree would wait for
   * a quiet-session reconcile); then the failure is thrown.
   */
  async function countOrUndo(
    sessionId: string,
    languages: Partial<Record<LanguageCode, number>>,
    shards: Record<number, number>,
    undo: () => Promise<unknown>,
  ): Promise<SessionItem | undefined> {
    try {
      return await store.adjustCounts(sessionId, languages, shards);
    } catch (error) {
      await undo().catch((undoError: unknown) =>
        logger.error("could not undo a row change after a failed count write; the sweeper reconciles it", { sessionId, error: undoError }),
      );
      throw error;
    }
  }

  /**
   * Un-counts what a departed connection held. `old` is the row as it was, so this runs once per departure;
   * `undo` puts the row back when the count write fails.
   */
  async function release(old: ConnectionItem, undo: () => Promise<unknown>): Promise<void> {
    if (!old.sessionId) return;
    if (old.role === "listener") {
      const languages = old.joinedLanguage ? { [old.joinedLanguage]: -1 } : {};
      const shards = old.channelIndex !== undefined ? { [old.channelIndex]: -1 } : {};
      if (old.joinedLanguage || old.channelIndex !== undefined) {
        await countOrUndo(old.sessionId, languages, shards, undo);
        if (old.joinedLanguage) notifier.countsChanged(old.sessionId);
      }
      // The slot is given back: so is the relay connection (and the grant) that held it.
      if (old.channelIndex !== undefined && old.viewerClientId) {
        await deps.channels.releaseViewer?.(old.sessionId, old.channelIndex, old.viewerClientId);
      }
    } else {
      const session = await store.setSpeakerConnection(old.sessionId, undefined, old.connectionId);
      // The speaker's control channel is gone: listeners learn the broadcast is not live.
      if (session && session.status !== "ended") await tell(session, "broadcastStopped");
    }
  }

  async function disconnect(connectionId: string): Promise<void> {
    const old = await store.deleteConnection(connectionId);
    if (!old) return;
    // A failed un-count puts the row back: the sweeper then removes it (its socket is gone) and un-counts it again.
    await release(old, () => store.restoreConnection(old));
    if (old.resumeKey) await store.releaseResumeKey(old.resumeKey, connectionId);
  }

  // ---------------------------------------------------------------------------
  // Fan-out

  async function postOrForget(connectionId: string, message: ServerMessage): Promise<void> {
    const delivered = await connections.post(connectionId, message);
    if (!delivered) await disconnect(connectionId);
  }

  async function forEachConnection(sessionId: string, fn: (c: ConnectionItem) => Promise<void>): Promise<void> {
    const all = await store.listSessionConnections(sessionId);
    const queue = [...all];
    const workers = Array.from({ length: Math.min(32, queue.length) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          await fn(c);
        } catch (error) {
          logger.warn("fan-out to a connection failed", { connectionId: c.connectionId, error });
        }
      }
    });
    await Promise.all(workers);
  }

  async function tell(session: SessionItem, type: BroadcastEvent, requestId?: string, requester?: string): Promise<void> {
    const base = { type, sessionId: session.sessionId, broadcastState: broadcastState(session) } as const;
    await forEachConnection(session.sessionId, (c) =>
      postOrForget(c.connectionId, c.connectionId === requester ? { ...base, requestId } : base),
    );
  }

  // ---------------------------------------------------------------------------
  // Actions

  type Reply = (message: ServerMessage) => Promise<void>;
  type Handler<A extends ClientMessage["action"]> = (msg: ClientMessageOf<A>, conn: ConnectionItem, reply: Reply, event: ControlEvent) => Promise<void>;

  function requireSession(conn: ConnectionItem): string {
    if (!conn.sessionId) throw new EarshotError("SESSION_NOT_FOUND", "This connection has no session yet.");
    return conn.sessionId;
  }

  function requireLanguage(value: string): LanguageCode {
    if (!isLanguageCode(value)) throw new EarshotError("UNSUPPORTED_LANGUAGE", `Language "${value.slice(0, 16)}" is not supported.`);
    return value;
  }

  /** A language a listener may pick in this session: the source, or one the session offers now. */
  async function requireOfferedIn(sessionId: string, language: LanguageCode): Promise<void> {
    let known = sessionLanguages.get(sessionId);
    if (!known || Date.now() - known.at > SESSION_LANGUAGES_MS) {
      const session = await store.getSession(sessionId);
      if (!session) throw new EarshotError("SESSION_NOT_FOUND");
      known = rememberLanguages(session);
    }
    requireOffered(known, language);
  }

  function requireOffered(session: SessionLanguages, language: LanguageCode): void {
    if (language === session.sourceLanguage) return;
    const offered = sessionOffers(engines(), session).map((o) => o.language);
    if (!offered.includes(language)) {
      throw new EarshotError(
        "UNSUPPORTED_LANGUAGE",
        `This session does not offer "${language}"; it offers ${offered.join(", ")}.`,
      );
    }
  }

  /** Validates the speaker's target languages and recogniser choice against the engines in effect. */
  function speechSettings(
    source: LanguageCode,
    requested: readonly string[] | undefined,
    asked: SessionRecognizer | undefined,
  ): { targetLanguages: LanguageCode[]; recognizer: SessionRecognizer } {
    const e = engines();
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

  async function liveSession(sessionId: string): Promise<SessionItem> {
    const session = await store.getSession(sessionId, true);
    if (!session) throw new EarshotError("SESSION_NOT_FOUND");
    if (session.status === "ended") throw new EarshotError("SESSION_INACTIVE");
    return session;
  }

  const createSession: Handler<"createSession"> = async (msg, conn, reply, event) => {
    let speakerId = conn.role === "speaker" ? conn.speakerId : undefined;
    if (msg.token !== undefined) {
      const claims = await deps.verifier.verifySpeaker(msg.token);
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
    const { targetLanguages, recognizer } = speechSettings(sourceLanguage, msg.targetLanguages, msg.recognizer);
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
      await deps.channels.ensure(session.sessionId, 1);
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
      offers: offersOf(engines(), session),
    });
  };

  const joinSession: Handler<"joinSession"> = async (msg, conn, reply, event) => {
    if (!isValidSessionId(msg.sessionId)) throw new EarshotError("INVALID_PARAMETER", "sessionId is malformed.");
    const language = requireLanguage(msg.targetLanguage);
    if (conn.sessionId !== msg.sessionId) {
      throw new EarshotError("INVALID_PARAMETER", "This connection belongs to another session; connect with ?sessionId= of the session to join.");
    }
    if (conn.role === "listener" && msg.clientKey) {
      // A reconnect: the connection this client had before is replaced, whatever state its socket is in.
      const previous = await store.claimResumeKey(msg.sessionId, msg.clientKey, event.connectionId);
      if (previous) {
        await connections.close(previous, 4000, "replaced by a newer connection");
        await disconnect(previous);
      }
    }
    let session: SessionItem | undefined;
    const speech = conn.role === "listener" && msg.speech !== false;
    if (conn.role === "listener") {
      await requireOfferedIn(msg.sessionId, language);
      const before = await store.markJoined(event.connectionId, msg.sessionId, language, msg.clientKey, speech);
      if (!before) throw new EarshotError("SESSION_NOT_FOUND", "This connection is no longer registered; reconnect.");
      if (before.joinedLanguage !== language) {
        const deltas = before.joinedLanguage ? { [before.joinedLanguage]: -1, [language]: 1 } : { [language]: 1 };
        // The count update returns the session, so a join costs no separate read; a session that
        // ended or expired meanwhile gets its count back and the join is refused.
        session = await countOrUndo(msg.sessionId, deltas, {}, () => store.restoreListener(event.connectionId, language, before));
        notifier.countsChanged(msg.sessionId);
        if (!session || session.status === "ended" || session.expiresAt <= Date.now() / 1000) {
          const undo = await store.markLeft(event.connectionId);
          if (undo) await release(undo, () => store.restoreListener(event.connectionId, undefined, undo));
          throw new EarshotError(session?.status === "ended" ? "SESSION_INACTIVE" : "SESSION_NOT_FOUND");
        }
      }
    }
    session ??= await liveSession(msg.sessionId);
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
      offers: offersOf(engines(), session),
      speech,
    });
  };

  const changeLanguage: Handler<"changeLanguage"> = async (msg, conn, reply, event) => {
    const language = requireLanguage(msg.targetLanguage);
    const sessionId = requireSession(conn);
    if (conn.role !== "listener") throw new EarshotError("UNAUTHORIZED_ACTION", "Only listeners choose a target language.");
    if (!conn.joinedLanguage) throw new EarshotError("INVALID_ACTION", "Join the session before changing language.");
    await requireOfferedIn(sessionId, language);
    const speech = msg.speech !== false;
    const before = await store.markLanguage(event.connectionId, language, speech);
    if (!before?.joinedLanguage) throw new EarshotError("INVALID_ACTION", "Join the session before changing language.");
    if (before.joinedLanguage !== language) {
      await countOrUndo(sessionId, { [before.joinedLanguage]: -1, [language]: 1 }, {}, () => store.restoreListener(event.connectionId, language, before));
      notifier.countsChanged(sessionId);
    }
    await reply({ type: "languageChanged", requestId: msg.requestId, sessionId, targetLanguage: language, previousLanguage: before.joinedLanguage, speech });
  };

  const leaveSession: Handler<"leaveSession"> = async (msg, conn, reply, event) => {
    const sessionId = requireSession(conn);
    if (conn.role === "listener") {
      const before = await store.markLeft(event.connectionId);
      if (before) await release(before, () => store.restoreListener(event.connectionId, undefined, before));
    }
    await reply({ type: "sessionLeft", requestId: msg.requestId, sessionId });
  };

  function speakerOf(conn: ConnectionItem): { sessionId: string; speakerId: string } {
    if (conn.role !== "speaker" || !conn.speakerId || !conn.sessionId) {
      throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
    }
    return { sessionId: conn.sessionId, speakerId: conn.speakerId };
  }

  type BroadcastAction = "pauseBroadcast" | "resumeBroadcast" | "muteBroadcast" | "unmuteBroadcast" | "startBroadcast" | "stopBroadcast";
  const broadcastChange = <A extends BroadcastAction>(
    patch: { status?: "active" | "paused"; muted?: boolean; live?: boolean },
    type: BroadcastEvent,
  ): Handler<A> =>
    async (msg, conn, _reply, event) => {
      const { sessionId, speakerId } = speakerOf(conn);
      const session = await store.updateBroadcast(sessionId, speakerId, patch);
      await tell(session, type, msg.requestId, event.connectionId);
    };

  const endSession: Handler<"endSession"> = async (msg, conn, reply) => {
    const { sessionId, speakerId } = speakerOf(conn);
    const { session, changed } = await store.endSession(sessionId, speakerId);
    const ended: ServerMessage = { type: "sessionEnded", sessionId, reason: "ended" };
    await forEachConnection(sessionId, async (c) => {
      if (c.role === "speaker") return;
      await connections.post(c.connectionId, ended);
      await connections.close(c.connectionId, 1000, "session ended");
    });
    await reply({ ...ended, requestId: msg.requestId } as ServerMessage);
    if (changed) {
      await deps.channels.remove(sessionId, session.channelCount).catch((error: unknown) => logger.warn("could not remove signaling channels", { sessionId, error }));
      logger.info("session ended", { sessionId });
    }
  };

  const heartbeat: Handler<"heartbeat"> = async (msg, _conn, reply, event) => {
    await store.touchConnection(event.connectionId);
    await reply({ type: "heartbeatAck", requestId: msg.requestId, timestamp: Date.now() });
  };

  const getSessionStatus: Handler<"getSessionStatus"> = async (msg, conn, reply) => {
    const session = await store.getSession(requireSession(conn), true);
    if (!session) throw new EarshotError("SESSION_NOT_FOUND");
    await reply(statusMessage(session, msg.requestId));
  };

  // ----- media channels

  async function masterChannels(session: SessionItem, requestId?: string): Promise<ServerMessage> {
    const shards = Array.from({ length: session.channelCount }, (_, shard) => shard);
    const { channels, signaling } = await deps.channels.access({ sessionId: session.sessionId, role: "MASTER", shards, clientId: "MASTER" });
    return { type: "mediaChannel", requestId, sessionId: session.sessionId, role: "MASTER", channels, signaling };
  }

  /** Finds a shard with room for one more viewer, opening a new one when all are full. */
  async function claimShard(sessionId: string): Promise<{ shard: number; opened: boolean }> {
    const cap = config.kvs.viewersPerChannel;
    for (let attempt = 0; attempt < config.kvs.maxChannelsPerSession * 2 + 2; attempt++) {
      const session = await liveSession(sessionId);
      for (let shard = 0; shard < session.channelCount; shard++) {
        const used = session[shardViewersAttribute(shard)];
        if (typeof used === "number" && used >= cap) continue;
        if (await store.claimShardSlot(sessionId, shard, cap)) return { shard, opened: false };
      }
      if (session.channelCount >= config.kvs.maxChannelsPerSession) break;
      const shard = session.channelCount;
      await deps.channels.ensure(sessionId, shard + 1);
      await store.openShard(sessionId, shard); // lost races are fine: loop and claim
      if (await store.claimShardSlot(sessionId, shard, cap)) return { shard, opened: true };
    }
    throw new EarshotError("CHANNEL_FULL", "This session has reached its listener limit.");
  }

  const getMediaChannel: Handler<"getMediaChannel"> = async (msg, conn, reply, event) => {
    const sessionId = requireSession(conn);
    if (conn.role === "speaker") {
      const session = await liveSession(sessionId);
      if (conn.speakerId !== session.speakerId) throw new EarshotError("UNAUTHORIZED_ACTION");
      await reply(await masterChannels(session, msg.requestId));
      return;
    }
    const session = await liveSession(sessionId);
    if (!conn.joinedLanguage) throw new EarshotError("INVALID_ACTION", "Join the session before asking for media.");
    let shard = conn.channelIndex;
    let clientId = conn.viewerClientId;
    if (shard === undefined || clientId === undefined) {
      const claimed = await claimShard(sessionId);
      const newId = `v-${randomUUID()}`;
      const before = await store.setViewerChannel(event.connectionId, claimed.shard, newId);
      if (!before) {
        // Another request of this connection won the race: give our slot back and use its shard.
        await store.adjustCounts(sessionId, {}, { [claimed.shard]: -1 });
        const now = await store.getConnection(event.connectionId);
        if (now?.channelIndex === undefined || !now.viewerClientId) throw new EarshotError("CONFLICT");
        shard = now.channelIndex;
        clientId = now.viewerClientId;
      } else {
        shard = claimed.shard;
        clientId = newId;
      }
      if (claimed.opened && session.speakerConnectionId) {
        // The speaker must become master of the new shard before this viewer offers.
        const latest = await store.getSession(sessionId, true);
        if (latest?.speakerConnectionId) await postOrForget(latest.speakerConnectionId, await masterChannels(latest));
      }
    }
    // Embedded: a relay grant bound to this connection; cloud: credentials scoped to this one channel.
    const { channels, signaling } = await deps.channels.access({ sessionId, role: "VIEWER", shards: [shard], clientId, connectionId: event.connectionId });
    await reply({ type: "mediaChannel", requestId: msg.requestId, sessionId, role: "VIEWER", clientId, channels, signaling });
  };

  const pipeline = new SpeechPipeline({ store, connections, speech: deps.speech, logger, forget: disconnect });
  const transcriptContext: TranscriptContext = { store, connections, config, logger, speech: deps.speech, engines, liveSession, pipeline };

  const handlers: { [A in ClientMessage["action"]]: Handler<A> } = {
    createSession,
    joinSession,
    changeLanguage,
    leaveSession,
    pauseBroadcast: broadcastChange({ status: "paused" }, "broadcastPaused"),
    resumeBroadcast: broadcastChange({ status: "active" }, "broadcastResumed"),
    muteBroadcast: broadcastChange({ muted: true }, "broadcastMuted"),
    unmuteBroadcast: broadcastChange({ muted: false }, "broadcastUnmuted"),
    startBroadcast: broadcastChange({ live: true }, "broadcastStarted"),
    stopBroadcast: broadcastChange({ live: false }, "broadcastStopped"),
    endSession,
    heartbeat,
    getSessionStatus,
    getMediaChannel,
    submitTranscript: (msg, conn, reply, event) => submitTranscript(transcriptContext, msg, conn, reply, event),
    getRecognizer: (msg, conn, reply) => getRecognizer(transcriptContext, msg, conn, reply),
  };

  // ---------------------------------------------------------------------------
  // Messages

  async function message(event: ControlEvent): Promise<ControlResult> {
    const reply: Reply = async (m) => {
      await connections.post(event.connectionId, m);
    };
    const parsed = parseClientMessage(event.body);
    if (!parsed.ok) {
      await reply({ type: "error", code: parsed.code, message: parsed.message, action: parsed.action, requestId: parsed.requestId });
      return OK;
    }
    const msg = parsed.message;
    try {
      const conn = await store.getConnection(event.connectionId);
      if (!conn) throw new EarshotError("SESSION_NOT_FOUND", "This connection is no longer registered; reconnect.");
      if (SPEAKER_ACTIONS.has(msg.action) && conn.role !== "speaker") {
        throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
      }
      await (handlers[msg.action] as Handler<typeof msg.action>)(msg, conn, reply, event);
    } catch (error) {
      const e = toEarshotError(error);
      if (e.code === "INTERNAL_ERROR") logger.error("action failed", { action: msg.action, connectionId: event.connectionId, error: e.cause ?? e });
      await reply({ type: "error", code: e.code, message: e.message, action: msg.action, requestId: msg.requestId });
    }
    return OK;
  }

  /** What a session's counts should move by to match its connection rows, as seen now. */
  async function observeDrift(sessionId: string) {
    const current = await store.getSession(sessionId, true);
    if (!current) return undefined;
    const rows = await store.listSessionConnections(sessionId);
    const truth = countsFromConnections(rows);
    const languages: Partial<Record<LanguageCode, number>> = {};
    for (const [lang, n] of Object.entries(languageDistribution(current)) as [LanguageCode, number][]) languages[lang] = -n;
    for (const [lang, n] of Object.entries(truth.languages) as [LanguageCode, number][]) languages[lang] = (languages[lang] ?? 0) + n;
    // languageDistribution keeps positive counts only: a negative one is repaired through the total.
    const total = truth.total - current.listenerCount;
    const shards: Record<number, number> = {};
    for (let k = 0; k < current.channelCount; k++) {
      const stored = current[shardViewersAttribute(k)];
      const d = (truth.shards[k] ?? 0) - (typeof stored === "number" ? stored : 0);
      if (d !== 0) shards[k] = d;
    }
    for (const [lang, d] of Object.entries(languages)) if (d === 0) delete languages[lang as LanguageCode];
    const lastChange = Math.max(current.countsAt ?? 0, ...rows.map((r) => r.changedAt ?? 0));
    const key = JSON.stringify([total, languages, shards, current.countsAt ?? 0]);
    return { languages, shards, total, countsAt: current.countsAt ?? 0, lastChange, key, drift: total !== 0 || Object.keys(languages).length > 0 || Object.keys(shards).length > 0 };
  }

  /**
   * Corrects counts that drifted from the connection rows (a crash between
   * marking a row and adding to the count, a failed count write). Joins and
   * leaves in flight look like drift for a moment, so only a session whose
   * counts and rows stood still for `quietMs`, and that shows the same drift
   * twice `settleMs` apart, is corrected, by a write conditional on the
   * counts not having moved since.
   */
  async function reconcile(sessionId: string, quietMs: number, settleMs: number): Promise<boolean> {
    const first = await observeDrift(sessionId);
    if (!first?.drift || Date.now() - first.lastChange < quietMs) return false;
    if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    const second = await observeDrift(sessionId);
    if (!second || second.key !== first.key) return false;
    // Undefined when the counts moved meanwhile (or the session is gone): the next sweep looks again.
    const after = await store.adjustCounts(sessionId, second.languages, second.shards, { total: second.total, expectCountsAt: second.countsAt });
    if (!after) return false;
    notifier.countsChanged(sessionId);
    logger.info("counts reconciled", { sessionId, listeners: after.listenerCount });
    return true;
  }

  async function sweep(isAlive: (c: ConnectionItem) => Promise<boolean> | boolean, options: SweepOptions = {}): Promise<SweepReport> {
    const report: SweepReport = { scanned: 0, removed: 0, expired: 0, corrected: 0, unjoined: 0 };
    const graceMs = options.graceMs ?? 60_000;
    const quietMs = options.quietMs ?? 30_000;
    const settleMs = options.settleMs ?? 2_000;
    const sessions = new Map<string, SessionItem | undefined>();
    for await (const c of store.scanConnections()) {
      report.scanned++;
      try {
        if (c.sessionId && !sessions.has(c.sessionId)) sessions.set(c.sessionId, await store.getSession(c.sessionId, true));
        const session = c.sessionId ? sessions.get(c.sessionId) : undefined;
        if (c.sessionId && (!session || session.status === "ended") && (await isAlive(c))) {
          // The session expired (or ended while this socket missed it): say so and close.
          await connections.post(c.connectionId, { type: "sessionEnded", sessionId: c.sessionId, reason: session ? "ended" : "expired" });
          await connections.close(c.connectionId, 1000, "session ended");
          await disconnect(c.connectionId);
          report.expired++;
          continue;
        }
        if (Date.now() - c.connectedAt < graceMs) continue; // may still be in the middle of $connect
        if (!(await isAlive(c))) {
          await disconnect(c.connectionId);
          report.removed++;
        } else if (c.role === "listener" && c.changedAt === undefined) {
          // A listener socket that never joined (a join follows the connect at once in every page): someone holding sockets.
          await connections.close(c.connectionId, 1008, "join the session after connecting");
          await disconnect(c.connectionId);
          report.unjoined++;
        }
      } catch (error) {
        logger.warn("sweep of a connection failed", { connectionId: c.connectionId, error });
      }
    }
    for await (const session of store.scanOpenSessions()) {
      try {
        if (await reconcile(session.sessionId, quietMs, settleMs)) report.corrected++;
      } catch (error) {
        logger.warn("reconcile failed", { sessionId: session.sessionId, error });
      }
    }
    return report;
  }

  return {
    sweep,
    async handle(event) {
      try {
        if (event.routeKey === "$connect") return await connect(event);
        if (event.routeKey === "$disconnect") {
          await disconnect(event.connectionId);
          return OK;
        }
        return await message(event);
      } catch (error) {
        const e = toEarshotError(error);
        if (e.code === "INTERNAL_ERROR") logger.error("route failed", { routeKey: event.routeKey, error: e.cause ?? e });
        return reject(e);
      }
    },
  };
}

/** Coalesces bursts of count changes into one push per session every `delayMs` (embedded runtime). */
export function createCoalescingNotifier(push: (sessionId: string) => Promise<void>, delayMs = 100, logger?: Logger): StatusNotifier & { flush(): Promise<void> } {
  const pending = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  const run = (sessionId: string) => {
    pending.delete(sessionId);
    const p = push(sessionId)
      .catch((error: unknown) => logger?.warn("status push failed", { sessionId, error }))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  return {
    countsChanged(sessionId) {
      if (pending.has(sessionId)) return;
      pending.set(sessionId, setTimeout(run, delayMs, sessionId));
    },
    async flush() {
      for (const [sessionId, timer] of pending) {
        clearTimeout(timer);
        run(sessionId);
      }
      await Promise.all(inFlight);
    },
  };
}
