import type { ErrorBody } from "../../core/errors";
import type { MediaChannelGrant, ServerMessage, SignalingAccess } from "../../core/protocol";

/**
 * What the control-plane handlers need from the runtime around them. The
 * embedded gateway (ws) and the Lambda (API Gateway management API) each
 * implement these; the handlers import neither.
 */

/** One event as API Gateway hands it to an integration. */
export interface ControlEvent {
  /** `$connect`, `$disconnect`, `$default` or an action route key. The body's `action` decides. */
  routeKey: string;
  connectionId: string;
  body?: string | null;
  /** `$connect` query string. */
  query?: Record<string, string | undefined>;
  /** The client's address as the gateway saw it (after the trusted-proxy rule). */
  sourceIp: string;
}

/** `$connect` answers with a status (non-2xx rejects the upgrade); other routes answer 200. */
export interface ControlResult {
  statusCode: number;
  error?: ErrorBody;
  /** Seconds, for 429. */
  retryAfter?: number;
}

export interface ConnectionPort {
  /** Sends one message. Resolves false when the connection is gone (API Gateway's GoneException). */
  post(connectionId: string, message: ServerMessage): Promise<boolean>;
  /** Closes a connection from the server side. */
  close(connectionId: string, code?: number, reason?: string): Promise<void>;
}

/**
 * Tells a session's speaker that counts changed. The embedded runtime
 * coalesces bursts in memory; the Lambda pushes right away.
 */
export interface StatusNotifier {
  countsChanged(sessionId: string): void;
}

export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

/**
 * Signaling channels of a session (shard 0..count-1). Embedded: the relay
 * makes channels on first use, so this is a no-op. Cloud: KVS channels are
 * created when a session starts and deleted when it ends.
 */
export interface MediaChannels {
  ensure(sessionId: string, count: number): Promise<void>;
  /** The session ended: its channels go (cloud), its relay connections are closed (embedded). */
  remove(sessionId: string, count: number): Promise<void>;
  /**
   * A listener gave its viewer slot back (left, was replaced, disconnected):
   * the embedded relay closes the connection it holds with that client id.
   * Absent in the cloud (KVS cannot close one viewer; its credentials lapse).
   */
  releaseViewer?(sessionId: string, shard: number, clientId: string): Promise<void>;
  /**
   * How a client reaches the channels it was given: one entry per shard, and
   * the signaling access. Embedded: relay grants (a VIEWER's bound to its
   * control connection) and the relay's URL. Cloud: the channel names, and
   * for a VIEWER credentials scoped to its one channel (an STS session
   * policy), so it cannot reach another channel past grants and counts.
   */
  access(request: MediaAccessRequest): Promise<MediaAccess>;
}

export interface MediaAccessRequest {
  sessionId: string;
  role: "MASTER" | "VIEWER";
  shards: readonly number[];
  /** "MASTER", or the viewer's client id. */
  clientId: string;
  /** A VIEWER's control connection (its grant is good only while that connection holds the slot). */
  connectionId?: string;
}

export interface MediaAccess {
  channels: MediaChannelGrant[];
  signaling: SignalingAccess;
}
