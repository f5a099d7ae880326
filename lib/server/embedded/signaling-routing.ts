import { WebSocket, type RawData } from "ws";
import {
  TokenBucket,
  parseClientFrame,
  rateClass,
  recipientGone,
  refusal,
  statusResponseEvent,
  type SignalingClientFrame,
  type SignalingEvent,
  type SignalingRefusal,
  type SignalingRole,
} from "../../core/signaling";
import type { Logger } from "../control/ports";
import { rawToString } from "./ws-text";

/**
 * The embedded signaling relay's messages (signaling-relay.ts): a frame from
 * a connection is checked (text, KVS frame shape, the connection's SDP or ICE
 * budget) and routed, MASTER to one viewer, a viewer to the MASTER; a refused
 * frame is answered with STATUS_RESPONSE when it carried a correlationId.
 */

/** Dropped frames logged at warn per connection; later ones at debug. */
const WARN_DROPS_PER_CONNECTION = 5;

export interface RelayConnection {
  readonly id: number;
  readonly ws: WebSocket;
  readonly channel: string;
  readonly role: SignalingRole;
  /** The viewer's client id; "MASTER" for the master (logs only). */
  readonly clientId: string;
  /** The session the grant was issued for. */
  readonly sessionId: string;
  readonly sdp: TokenBucket;
  readonly ice: TokenBucket;
  dropped: number;
  idleTimer?: NodeJS.Timeout;
  lifeTimer?: NodeJS.Timeout;
}

export interface RelayChannel {
  master?: RelayConnection;
  viewers: Map<string, RelayConnection>;
}

export interface RoutingContext {
  channels: ReadonlyMap<string, RelayChannel>;
  limits: { maxPayloadLength: number; sdpPerSecond: number; icePerSecond: number };
  logger: Logger;
  now(): number;
}

/** Whether `conn` is still the one its channel routes to (not replaced, not revoked). */
export function isCurrent(channels: ReadonlyMap<string, RelayChannel>, conn: RelayConnection): boolean {
  const channel = channels.get(conn.channel);
  if (!channel) return false;
  return conn.role === "MASTER" ? channel.master === conn : channel.viewers.get(conn.clientId) === conn;
}

export function send(conn: RelayConnection, event: SignalingEvent): boolean {
  if (conn.ws.readyState !== WebSocket.OPEN) return false;
  conn.ws.send(JSON.stringify(event));
  return true;
}

/** Something was received: the idle timer starts again. */
export function touch(conn: RelayConnection): void {
  conn.idleTimer?.refresh();
}

export function describe(conn: RelayConnection): Record<string, unknown> {
  return { conn: conn.id, channel: conn.channel, role: conn.role, clientId: conn.clientId };
}

export function onFrame(ctx: RoutingContext, conn: RelayConnection, data: RawData, isBinary: boolean): void {
  try {
    touch(conn);
    if (!isCurrent(ctx.channels, conn)) return; // replaced; its close is under way
    if (isBinary) {
      drop(ctx, conn, "binary frame", refusal("INVALID_MESSAGE", "Binary frames are not supported."));
      return;
    }
    const parsed = parseClientFrame(rawToString(data), ctx.limits.maxPayloadLength);
    if (!parsed.ok) {
      refuse(ctx, conn, parsed.correlationId, parsed.refusal);
      return;
    }
    const frame = parsed.frame;
    const cls = rateClass(frame.action);
    const bucket = cls === "sdp" ? conn.sdp : conn.ice;
    if (!bucket.take(ctx.now())) {
      const what = cls === "sdp" ? `${ctx.limits.sdpPerSecond} SDP offers/answers` : `${ctx.limits.icePerSecond} ICE candidates`;
      refuse(ctx, conn, frame.correlationId, refusal("RATE_LIMIT_EXCEEDED", `More than ${what} per second on this connection.`));
      return;
    }
    route(ctx, conn, frame);
  } catch (error) {
    ctx.logger.error("signaling frame handling failed", { ...describe(conn), error });
  }
}

function route(ctx: RoutingContext, conn: RelayConnection, frame: SignalingClientFrame): void {
  const channel = ctx.channels.get(conn.channel);
  if (!channel) return;
  if (conn.role === "MASTER") {
    if (!frame.recipientClientId) {
      refuse(ctx, conn, frame.correlationId, refusal("MISSING_PARAMETER", "recipientClientId is required from the MASTER."));
      return;
    }
    const target = channel.viewers.get(frame.recipientClientId);
    if (!target || !send(target, { messageType: frame.action, messagePayload: frame.messagePayload })) {
      refuse(ctx, conn, frame.correlationId, recipientGone("No viewer with that client id is connected to this channel."));
    }
    return;
  }
  // A viewer's messages always go to the master; recipientClientId is ignored, as in KVS.
  const master = channel.master;
  if (
    !master ||
    !send(master, { messageType: frame.action, messagePayload: frame.messagePayload, senderClientId: conn.clientId })
  ) {
    refuse(ctx, conn, frame.correlationId, recipientGone("The master is not connected to this channel."));
  }
}

function refuse(ctx: RoutingContext, conn: RelayConnection, correlationId: string | undefined, r: SignalingRefusal): void {
  if (correlationId !== undefined) {
    ctx.logger.debug("signaling message refused", { ...describe(conn), code: r.code, reason: r.description, correlationId });
    send(conn, statusResponseEvent(correlationId, r));
    return;
  }
  drop(ctx, conn, "no correlationId", r);
}

function drop(ctx: RoutingContext, conn: RelayConnection, why: string, r: SignalingRefusal): void {
  conn.dropped++;
  const level = conn.dropped <= WARN_DROPS_PER_CONNECTION ? "warn" : "debug";
  ctx.logger[level]("signaling message dropped", { ...describe(conn), why, code: r.code, reason: r.description });
}
