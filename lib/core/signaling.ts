import { z } from "zod";
import { EarshotError, type ErrorCode } from "./errors";

/**
 * Kinesis Video Streams WebRTC signaling, as the browser's KVS SDK
 * (`SignalingClient`) speaks it, and as the embedded relay answers it.
 * Runtime-agnostic: no Node or ws imports. docs/SIGNALING.md explains the mapping.
 */

/** KVS channel names and client ids: `[a-zA-Z0-9_.-]`, 1 to 256 characters. */
export const KVS_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,256}$/;
/** Same rule for client ids and correlation ids. */
export const KVS_ID_PATTERN = KVS_NAME_PATTERN;
/** messagePayload: base64 text (KVS: `[a-zA-Z0-9+/=]+`). */
const BASE64_PATTERN = /^[A-Za-z0-9+/=]+$/;

export { EMBEDDED_ACCOUNT, EMBEDDED_REGION, SIGNALING_CLOSE_CODES, SIGNALING_LIMITS, SIGNALING_QUERY, SIGNALING_SEND_RATES } from "./signaling-constants";
import { EMBEDDED_ACCOUNT, EMBEDDED_REGION, SIGNALING_LIMITS } from "./signaling-constants";

// ---------------------------------------------------------------------------
// Channel names and ARNs

export interface ChannelNameParts {
  sessionId: string;
  shard: number;
}

/** `${prefix}${sessionId}-${shard}`; throws INVALID_PARAMETER when that is not a valid KVS channel name. */
export function channelName(prefix: string, sessionId: string, shard: number): string {
  if (!Number.isSafeInteger(shard) || shard < 0) {
    throw new EarshotError("INVALID_PARAMETER", `The shard must be a non-negative integer, got ${String(shard)}.`);
  }
  if (sessionId.length === 0) throw new EarshotError("INVALID_PARAMETER", "The session id is empty.");
  const name = `${prefix}${sessionId}-${shard}`;
  if (!KVS_NAME_PATTERN.test(name)) {
    throw new EarshotError("INVALID_PARAMETER", "The channel name may hold only letters, digits, _ . - and at most 256 characters.");
  }
  return name;
}

/** Inverse of channelName for the same prefix; undefined for anything channelName cannot have produced. */
export function parseChannelName(prefix: string, name: string): ChannelNameParts | undefined {
  if (!KVS_NAME_PATTERN.test(name) || !name.startsWith(prefix)) return undefined;
  const match = /^(.+)-(0|[1-9]\d{0,14})$/.exec(name.slice(prefix.length));
  if (!match) return undefined;
  const shard = Number(match[2]);
  if (!Number.isSafeInteger(shard)) return undefined;
  return { sessionId: match[1]!, shard };
}

export interface ChannelArnParts {
  partition: string;
  region: string;
  accountId: string;
  channelName: string;
  /** The creation-time segment (epoch ms in real ARNs, "0" in embedded ones). */
  creationTime: string;
}

/** The ARN the embedded relay answers to for a channel. */
export function embeddedChannelArn(name: string): string {
  if (!KVS_NAME_PATTERN.test(name)) throw new EarshotError("INVALID_PARAMETER", "Not a valid KVS channel name.");
  return `arn:aws:kinesisvideo:${EMBEDDED_REGION}:${EMBEDDED_ACCOUNT}:channel/${name}/0`;
}

// KVS: `arn:[a-z\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+`, at most 1024 characters;
// a signaling channel's resource type is `channel`.
const CHANNEL_ARN = /^arn:([a-z\d-]+):kinesisvideo:([a-z0-9-]+):(\d+):channel\/([a-zA-Z0-9_.-]{1,256})\/(\d+)$/;

/** Parses a signaling channel ARN, embedded or real; undefined when malformed. */
export function parseChannelArn(arn: string): ChannelArnParts | undefined {
  if (arn.length > 1024) return undefined;
  const m = CHANNEL_ARN.exec(arn);
  if (!m) return undefined;
  return { partition: m[1]!, region: m[2]!, accountId: m[3]!, channelName: m[4]!, creationTime: m[5]! };
}

export function isEmbeddedChannelArn(arn: string): boolean {
  const parts = parseChannelArn(arn);
  return parts !== undefined && embeddedChannelArn(parts.channelName) === arn;
}

// ---------------------------------------------------------------------------
// Sharding

/**
 * Picks the shard for a new viewer: the first shard with fewer than `cap`
 * viewers, else a new shard (index counts.length) while fewer than
 * `maxShards` exist; undefined when every allowed shard is full.
 */
export function assignShard(counts: readonly number[], cap: number, maxShards: number): number | undefined {
  if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`cap must be a positive integer, got ${cap}`);
  if (!Number.isSafeInteger(maxShards) || maxShards < 1) throw new RangeError(`maxShards must be a positive integer, got ${maxShards}`);
  const existing = Math.min(counts.length, maxShards);
  for (let i = 0; i < existing; i++) {
    if ((counts[i] ?? 0) < cap) return i;
  }
  return existing < maxShards ? existing : undefined;
}

// ---------------------------------------------------------------------------
// Wire messages

export const SIGNALING_ACTIONS = ["SDP_OFFER", "SDP_ANSWER", "ICE_CANDIDATE"] as const;
export type SignalingAction = (typeof SIGNALING_ACTIONS)[number];
export type SignalingMessageType = SignalingAction | "GO_AWAY" | "RECONNECT_ICE_SERVER" | "STATUS_RESPONSE";
export type SignalingRole = "MASTER" | "VIEWER";

/** Client -> service frame, as SignalingClient.sendMessage writes it. */
export interface SignalingClientFrame {
  action: SignalingAction;
  /** base64 of the JSON of an RTCSessionDescription or RTCIceCandidate. */
  messagePayload: string;
  /** Required from the MASTER; ignored from a VIEWER (its messages go to the master). */
  recipientClientId?: string;
  /** Asks for a STATUS_RESPONSE if the message is refused. */
  correlationId?: string;
}

/** KVS error types carried in STATUS_RESPONSE (statusCode is the HTTP status, as a string). */
export type KvsErrorType = "InvalidArgumentException" | "ClientLimitExceededException" | "ResourceNotFoundException";

export interface SignalingStatusResponse {
  correlationId: string;
  success: false;
  errorType: KvsErrorType;
  statusCode: string;
  description: string;
}

/** Service -> client event. Messages from the master carry no senderClientId, as in KVS. */
export interface SignalingEvent {
  messageType: SignalingMessageType;
  messagePayload?: string;
  senderClientId?: string;
  statusResponse?: SignalingStatusResponse;
}

/** Why the relay refused a frame: our error code (logs) and what goes on the wire (STATUS_RESPONSE). */
export interface SignalingRefusal {
  code: ErrorCode;
  errorType: KvsErrorType;
  statusCode: string;
  description: string;
}

export function refusal(code: ErrorCode, description: string): SignalingRefusal {
  switch (code) {
    case "RATE_LIMIT_EXCEEDED":
    case "CHANNEL_FULL":
      return { code, errorType: "ClientLimitExceededException", statusCode: "400", description };
    default:
      return { code, errorType: "InvalidArgumentException", statusCode: "400", description };
  }
}

/** The recipient is not connected to the channel (an addition of the relay; KVS drops such messages). */
export function recipientGone(description: string): SignalingRefusal {
  return { code: "INVALID_PARAMETER", errorType: "ResourceNotFoundException", statusCode: "404", description };
}

export function statusResponseEvent(correlationId: string, r: SignalingRefusal): SignalingEvent {
  return {
    messageType: "STATUS_RESPONSE",
    statusResponse: { correlationId, success: false, errorType: r.errorType, statusCode: r.statusCode, description: r.description },
  };
}

const kvsId = z.string().regex(KVS_ID_PATTERN);

export const clientFrameSchema = z.object({
  action: z.enum(SIGNALING_ACTIONS),
  messagePayload: z.string().min(1).regex(BASE64_PATTERN),
  recipientClientId: kvsId.nullish(),
  correlationId: kvsId.nullish(),
});

export type ParsedClientFrame =
  | { ok: true; frame: SignalingClientFrame }
  | { ok: false; refusal: SignalingRefusal; /** Present when the frame carried a usable one. */ correlationId?: string };

/**
 * Parses one text frame from a client. The payload length is checked before
 * anything else about it, so an oversized frame is told so.
 */
export function parseClientFrame(text: string, maxPayloadLength: number = SIGNALING_LIMITS.maxPayloadLength): ParsedClientFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, refusal: refusal("INVALID_MESSAGE", "The message is not valid JSON.") };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, refusal: refusal("INVALID_MESSAGE", "The message is not a JSON object.") };
  }
  const record = raw as Record<string, unknown>;
  const cid = record.correlationId;
  const correlationId = typeof cid === "string" && KVS_ID_PATTERN.test(cid) ? cid : undefined;
  const fail = (code: ErrorCode, description: string): ParsedClientFrame => ({
    ok: false,
    refusal: refusal(code, description),
    ...(correlationId === undefined ? {} : { correlationId }),
  });

  if (cid !== undefined && cid !== null && correlationId === undefined) {
    return fail("INVALID_PARAMETER", "correlationId must be 1-256 characters of [a-zA-Z0-9_.-].");
  }
  if (typeof record.messagePayload === "string" && record.messagePayload.length > maxPayloadLength) {
    return fail("MESSAGE_TOO_LARGE", `messagePayload is longer than ${maxPayloadLength} characters.`);
  }
  const parsed = clientFrameSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "message";
    if (field === "action") return fail("INVALID_ACTION", `action must be one of ${SIGNALING_ACTIONS.join(", ")}.`);
    if (record[field] === undefined || record[field] === null) return fail("MISSING_PARAMETER", `${field} is required.`);
    return fail("INVALID_PARAMETER", `${field} is invalid.`);
  }
  const { action, messagePayload, recipientClientId } = parsed.data;
  const frame: SignalingClientFrame = { action, messagePayload };
  if (recipientClientId) frame.recipientClientId = recipientClientId;
  if (correlationId) frame.correlationId = correlationId;
  return { ok: true, frame };
}

/** The per-connection rate class of an action. */
export function rateClass(action: SignalingAction): "sdp" | "ice" {
  return action === "ICE_CANDIDATE" ? "ice" : "sdp";
}

// ---------------------------------------------------------------------------
// Rate limiting

/** A token bucket: holds up to `capacity` tokens, refilled at `perSecond`; time is passed in (ms). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    now: number,
  ) {
    if (!(capacity > 0) || !(perSecond > 0)) throw new RangeError("capacity and perSecond must be positive");
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
    }
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Whole seconds until a token is available (at least 1). */
  retryAfter(now: number): number {
    this.refill(now);
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond)));
  }

  /** True when the bucket is back to full, so forgetting it changes nothing. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}
