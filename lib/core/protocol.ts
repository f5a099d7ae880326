import { z } from "zod";
import type { LanguageCode } from "./languages";
import type { ErrorCode } from "./errors";
import type { SessionStatus } from "./schema";
import { TRANSCRIPT_LIMITS, type LanguageOffer, type SessionRecognizer, type SpeechFormat } from "./speech";

/**
 * The WebSocket control protocol: every message a client may send and every
 * message the server sends, in one module. docs/PROTOCOL.md describes each one.
 *
 * Client messages are JSON objects routed on `action` (API Gateway's route
 * selection expression is `$request.body.action`). Any message may carry a
 * `requestId` (1-64 chars) that the direct reply echoes.
 */

/**
 * The largest control message a client may send: 32 KB, the size of one API
 * Gateway WebSocket frame. Larger ones get MESSAGE_TOO_LARGE, in both
 * runtimes. (API Gateway's limit for a whole message is 128 KB; past that a
 * connection is closed with 1009, as the embedded gateway's MAX_MESSAGE_BYTES
 * does.)
 */
export const MAX_CLIENT_MESSAGE_BYTES = 32 * 1024;

const requestId = z.string().min(1).max(64).optional();
const sessionId = z.string().max(64);
const language = z.string().max(16);
const title = z.string().trim().max(120);
const token = z.string().min(1).max(4096);

const base = <A extends string, S extends z.ZodRawShape>(action: A, shape: S) =>
  z.object({ action: z.literal(action), requestId, ...shape }).strip();

export const clientMessages = {
  createSession: base("createSession", {
    token: token.optional(),
    sourceLanguage: language,
    title: title.optional(),
    /** Languages to translate into (each must be servable by the configured engines). */
    targetLanguages: z.array(language).max(TRANSCRIPT_LIMITS.maxTargetLanguages).optional(),
    /** Where speech is recognised: the server's engine (default when it serves the source language), the speaker's browser, or nowhere. */
    recognizer: z.enum(["server", "browser", "off"]).optional(),
  }),
  joinSession: base("joinSession", {
    sessionId,
    targetLanguage: language,
    /**
     * A random key the client keeps for the session (e.g. in sessionStorage).
     * Joining again with it from a new connection replaces the old one, so a
     * reconnect never counts a listener twice.
     */
    clientKey: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "16-64 characters of A-Z a-z 0-9 _ -").optional(),
    /** Whether this listener wants synthesized speech pushed (default true). False: captions only (original mode, device voice). */
    speech: z.boolean().optional(),
  }),
  changeLanguage: base("changeLanguage", { targetLanguage: language, speech: z.boolean().optional() }),
  leaveSession: base("leaveSession", {}),
  pauseBroadcast: base("pauseBroadcast", {}),
  resumeBroadcast: base("resumeBroadcast", {}),
  muteBroadcast: base("muteBroadcast", {}),
  unmuteBroadcast: base("unmuteBroadcast", {}),
  endSession: base("endSession", {}),
  startBroadcast: base("startBroadcast", {}),
  stopBroadcast: base("stopBroadcast", {}),
  getMediaChannel: base("getMediaChannel", {}),
  heartbeat: base("heartbeat", {}),
  getSessionStatus: base("getSessionStatus", {}),
  /** The speaker's recognised speech, partial or final (see lib/core/speech.ts Segment). */
  submitTranscript: base("submitTranscript", {
    seq: z.number().int().min(0).max(1_000_000),
    text: z.string().max(TRANSCRIPT_LIMITS.maxTextChars),
    startMs: z.number().int().min(0),
    endMs: z.number().int().min(0),
    final: z.boolean(),
    spokenAt: z.number().int().min(0).optional(),
  }),
  /** Where the speaker's browser sends microphone audio for recognition. */
  getRecognizer: base("getRecognizer", {}),
} as const;

export type ClientAction = keyof typeof clientMessages;
export type ClientMessage = { [A in ClientAction]: z.infer<(typeof clientMessages)[A]> }[ClientAction];
export type ClientMessageOf<A extends ClientAction> = z.infer<(typeof clientMessages)[A]>;

export const CLIENT_ACTIONS = Object.keys(clientMessages) as ClientAction[];

/** Actions only the session's speaker may send. */
export const SPEAKER_ACTIONS: ReadonlySet<ClientAction> = new Set([
  "pauseBroadcast",
  "resumeBroadcast",
  "muteBroadcast",
  "unmuteBroadcast",
  "endSession",
  "startBroadcast",
  "stopBroadcast",
  "submitTranscript",
  "getRecognizer",
]);

export function isClientAction(value: unknown): value is ClientAction {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(clientMessages, value);
}

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: ErrorCode; message: string; action?: string; requestId?: string };

/** Validates a raw frame. Never throws. */
export function parseClientMessage(raw: string | undefined | null): ParseResult {
  if (raw == null || raw === "") return { ok: false, code: "INVALID_MESSAGE", message: "Empty message." };
  const tooLarge = Buffer.byteLength(raw, "utf8") > MAX_CLIENT_MESSAGE_BYTES;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    if (tooLarge) return { ok: false, code: "MESSAGE_TOO_LARGE", message: `Messages are limited to ${MAX_CLIENT_MESSAGE_BYTES} bytes.` };
    return { ok: false, code: "INVALID_MESSAGE", message: "The message is not valid JSON." };
  }
  const obj = typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  const rid = typeof obj?.requestId === "string" && obj.requestId.length <= 64 ? obj.requestId : undefined;
  if (tooLarge) {
    return { ok: false, code: "MESSAGE_TOO_LARGE", message: `Messages are limited to ${MAX_CLIENT_MESSAGE_BYTES} bytes.`, requestId: rid };
  }
  if (!obj) return { ok: false, code: "INVALID_MESSAGE", message: "The message must be a JSON object." };
  if (!("action" in obj) || obj.action === undefined) {
    return { ok: false, code: "MISSING_PARAMETER", message: "The message has no action.", requestId: rid };
  }
  if (!isClientAction(obj.action)) {
    const shown = typeof obj.action === "string" ? `"${obj.action.slice(0, 40)}"` : `of type ${typeof obj.action}`;
    return { ok: false, code: "INVALID_ACTION", message: `Unknown action ${shown}.`, requestId: rid };
  }
  const action = obj.action;
  const result = clientMessages[action].safeParse(obj);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join(".") || "message";
    const missing = issue.code === "invalid_type" && obj[String(issue.path[0])] === undefined;
    return {
      ok: false,
      code: missing ? "MISSING_PARAMETER" : "INVALID_PARAMETER",
      message: missing ? `Missing ${field}.` : `Invalid ${field}: ${issue.message}.`,
      action,
      requestId: rid,
    };
  }
  return { ok: true, message: result.data as ClientMessage };
}

// ---------------------------------------------------------------------------
// Server messages

export interface BroadcastState {
  status: SessionStatus;
  /** The speaker muted the audio. */
  muted: boolean;
  /** The speaker's media is up; viewers may connect. */
  live: boolean;
}

export type LanguageDistribution = Partial<Record<LanguageCode, number>>;

interface Reply {
  requestId?: string;
}

export type ServerMessage =
  | (Reply & {
      type: "sessionCreated";
      sessionId: string;
      joinUrl: string;
      title: string;
      sourceLanguage: LanguageCode;
      createdAt: number;
      expiresAt: number;
      broadcastState: BroadcastState;
      targetLanguages: LanguageCode[];
      recognizer: SessionRecognizer;
      /** What each language of the session gets, source first. */
      offers: LanguageOffer[];
    })
  | (Reply & {
      type: "sessionJoined";
      sessionId: string;
      role: "listener" | "speaker";
      title: string;
      targetLanguage: LanguageCode;
      sourceLanguage: LanguageCode;
      listenerCount: number;
      broadcastState: BroadcastState;
      /** What each language of the session gets, source first. */
      offers: LanguageOffer[];
      /** Whether synthesized speech is pushed to this connection. */
      speech: boolean;
    })
  | (Reply & { type: "languageChanged"; sessionId: string; targetLanguage: LanguageCode; previousLanguage: LanguageCode; speech: boolean })
  | (Reply & { type: "sessionLeft"; sessionId: string })
  | (Reply & {
      type: BroadcastEvent;
      sessionId: string;
      broadcastState: BroadcastState;
    })
  | (Reply & { type: "sessionEnded"; sessionId: string; reason: "ended" | "expired" })
  | (Reply & { type: "heartbeatAck"; timestamp: number })
  | (Reply & {
      type: "sessionStatus";
      sessionId: string;
      listenerCount: number;
      languageDistribution: LanguageDistribution;
      /** Listeners holding a media connection to the speaker (they hear the original). */
      originalListeners: number;
      broadcastState: BroadcastState;
      timestamp: number;
    })
  | (Reply & CaptionMessage)
  | (Reply & SpeechMessage)
  | (Reply & SegmentProcessedMessage)
  | (Reply & RecognizerMessage)
  | (Reply & { type: "transcriptAccepted"; sessionId: string; seq: number })
  | (Reply & { type: "error"; code: ErrorCode; message: string; action?: string })
  | (Reply & MediaChannelMessage);

/** Told to every connection of a session when the speaker changes the broadcast. */
export type BroadcastEvent =
  | "broadcastPaused"
  | "broadcastResumed"
  | "broadcastMuted"
  | "broadcastUnmuted"
  | "broadcastStarted"
  | "broadcastStopped";

/** How a client reaches its signaling channel(s). */
export type SignalingAccess =
  /** The embedded relay: the grant goes in the URL as X-Earshot-Grant. */
  | { kind: "embedded"; endpoint: string }
  /**
   * Kinesis Video Streams. A VIEWER gets `credentials` here: short-lived,
   * scoped by an STS session policy to its one channel (ConnectAsViewer and
   * the three look-ups, nothing else). The MASTER gets none here: the
   * speaker's browser asks the app (/api/speaker/kvs-credentials?channel=),
   * which scopes them to that session of theirs.
   */
  | { kind: "kvs"; region: string; credentials?: KvsCredentials };

/** Temporary AWS credentials handed to a browser. */
export interface KvsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expiration: number;
}

export interface MediaChannelGrant {
  shard: number;
  channelName: string;
  /** Known up front in embedded mode; in the cloud the client resolves it with DescribeSignalingChannel. */
  channelArn?: string;
  /** Embedded relay grant (absent in the cloud). */
  grant?: string;
  grantExpiresAt?: number;
}

/**
 * The answer to getMediaChannel, and pushed to the speaker when a shard is
 * added. Listeners get the one channel they are assigned to, as VIEWER under
 * `clientId`; the speaker gets every channel of the session, as MASTER.
 */
export interface MediaChannelMessage {
  type: "mediaChannel";
  sessionId: string;
  role: "MASTER" | "VIEWER";
  clientId?: string;
  channels: MediaChannelGrant[];
  signaling: SignalingAccess;
}

// ---------------------------------------------------------------------------
// Live translation pushes (lib/core/speech.ts has the rules)

/**
 * A caption line for the listeners of one language. Source-language listeners
 * get partials too (`final: false`, replaced by the next line of the same seq);
 * translated languages get finals only.
 */
export interface CaptionMessage {
  type: "caption";
  sessionId: string;
  seq: number;
  language: LanguageCode;
  text: string;
  final: boolean;
  startMs: number;
  endMs: number;
}

/**
 * Synthesized speech of segment `seq` in one language, to that language's
 * listeners who want speech. The audio (base64 MP3) is split into `parts`
 * messages when one would pass API Gateway's 128 KB; play once all arrived.
 */
export interface SpeechMessage {
  type: "speech";
  sessionId: string;
  seq: number;
  language: LanguageCode;
  format: SpeechFormat;
  audio: string;
  durationMs: number;
  part: number;
  parts: number;
}

/** Per language, what the pipeline did with a segment (speaker only). */
export interface PipelineLanguageStatus {
  language: LanguageCode;
  /** Listeners of this language now, and how many of them get synthesized speech. */
  listeners: number;
  speechListeners: number;
  /** The translated text (absent for the source language and on error). */
  text?: string;
  /** From the end of the phrase at the speaker (spokenAt) to the caption / speech being sent, ms. */
  captionLagMs?: number;
  speechLagMs?: number;
  error?: { code: ErrorCode; message: string };
}

/** Told to the speaker after each final segment went through the pipeline. */
export interface SegmentProcessedMessage {
  type: "segmentProcessed";
  sessionId: string;
  seq: number;
  text: string;
  languages: PipelineLanguageStatus[];
}

/**
 * Where the speaker's browser streams microphone audio: a WebSocket speaking
 * Amazon Transcribe's streaming protocol (event-stream frames of 16 kHz
 * 16-bit PCM in, TranscriptEvents out). `local`: the embedded runtime's
 * endpoint, with a grant in the URL. `aws`: the browser presigns Transcribe's
 * URL with the session-scoped credentials the app hands the speaker
 * (/api/speaker/kvs-credentials?channel=`channelName`). `off`: no server engine
 * (the browser's Web Speech API may still be used).
 */
export interface RecognizerMessage {
  type: "recognizer";
  sessionId: string;
  engine: "local" | "aws" | "off";
  /** Transcribe language code, e.g. en-US. */
  languageCode: string;
  sampleRate: number;
  url?: string;
  region?: string;
  identityPoolId?: string;
  /** `aws`: a signaling channel of the session, which names it when the browser asks the app for its credentials. */
  channelName?: string;
  /** The seq the speaker's next final segment must have at least (start the Segmenter there after a reconnect). */
  nextSeq?: number;
}

// ---------------------------------------------------------------------------
// Replies

/**
 * The reply each action's request resolves with (its `requestId` echoed).
 * The server's handlers and the client's `request()` are both typed by it.
 */
export interface ReplyTypes {
  createSession: "sessionCreated";
  joinSession: "sessionJoined";
  changeLanguage: "languageChanged";
  leaveSession: "sessionLeft";
  pauseBroadcast: "broadcastPaused";
  resumeBroadcast: "broadcastResumed";
  muteBroadcast: "broadcastMuted";
  unmuteBroadcast: "broadcastUnmuted";
  startBroadcast: "broadcastStarted";
  stopBroadcast: "broadcastStopped";
  endSession: "sessionEnded";
  heartbeat: "heartbeatAck";
  getSessionStatus: "sessionStatus";
  getMediaChannel: "mediaChannel";
  submitTranscript: "transcriptAccepted";
  getRecognizer: "recognizer";
}

/** The server message of type `T`, also where a member's `type` is a union (the broadcast events). */
export type ServerMessageOfType<T extends ServerMessage["type"]> = ServerMessage extends infer M
  ? M extends { type: infer U }
    ? T extends U
      ? M & { type: T }
      : never
    : never
  : never;

export type ReplyTo<A extends ClientAction> = ServerMessageOfType<ReplyTypes[A]>;
