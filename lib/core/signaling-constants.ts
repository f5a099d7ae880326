/**
 * The signaling numbers and names shared by the relay, the speaker's master
 * and the listener's viewer. Plain constants with no imports: the listener
 * page's media module imports them without pulling in zod (lib/core/signaling.ts,
 * which re-exports them, validates messages with it).
 */

/** What KVS documents for one signaling connection; the relay enforces the same by default. */
export const SIGNALING_LIMITS = {
  /** messagePayload length in characters of base64 ("10K" in the KVS docs; the stricter reading). */
  maxPayloadLength: 10_000,
  /** SDP offers and answers, per connection (token bucket, burst = one second's worth). */
  sdpPerSecond: 5,
  /** ICE candidates, per connection. */
  icePerSecond: 20,
  /** ConnectAsMaster / ConnectAsViewer, per channel. */
  connectsPerSecondPerChannel: 3,
  /** A connection that sends nothing for this long is closed. */
  idleTimeoutMs: 10 * 60 * 1000,
  /** Every connection is closed after this long (GO_AWAY first). */
  maxConnectionMs: 60 * 60 * 1000,
  /** Concurrent viewers per channel (KVS soft limit). */
  viewersPerChannel: 10,
} as const;

/**
 * What a signaling client sends at most, per connection: under SIGNALING_LIMITS'
 * 5 SDP and 20 ICE messages per second (which the relay enforces), with a
 * margin, since messages sent evenly can still arrive bunched.
 */
export const SIGNALING_SEND_RATES = {
  sdpPerSecond: 4,
  icePerSecond: 16,
} as const;

/** Close codes of a signaling connection (the KVS SDK does not surface them; logs and raw clients do). */
export const SIGNALING_CLOSE_CODES = {
  /** A newer MASTER connection, or a newer viewer connection with the same client id, took over. */
  REPLACED: 4001,
  /** Nothing received for idleTimeoutMs. */
  IDLE: 4002,
  /** maxConnectionMs reached, or the relay shuts down; GO_AWAY is sent first. */
  GOING_AWAY: 1001,
  /** The grant was withdrawn: the listener left or was replaced, or the session ended. */
  REVOKED: 4003,
} as const;

/** Query parameters of a signaling connect URL: KVS's two, and the embedded relay's grant (instead of SigV4). */
export const SIGNALING_QUERY = {
  channelArn: "X-Amz-ChannelARN",
  clientId: "X-Amz-ClientId",
  grant: "X-Earshot-Grant",
} as const;

/** The fixed region/account of embedded ARNs, which no real AWS ARN uses. */
export const EMBEDDED_REGION = "local";
export const EMBEDDED_ACCOUNT = "000000000000";
