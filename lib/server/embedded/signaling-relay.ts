import { refuseUpgrade } from "./upgrade-refusal";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import { EarshotError, type ErrorCode } from "../../core/errors";
import {
  KVS_ID_PATTERN,
  SIGNALING_LIMITS,
  TokenBucket,
  isEmbeddedChannelArn,
  parseChannelArn,
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
import type { SignalingClaims, TokenVerifier } from "../tokens";

/**
 * The embedded KVS signaling relay: the same WebSocket protocol as Kinesis
 * Video Streams signaling (ConnectAsMaster / ConnectAsViewer, SDP_OFFER,
 * SDP_ANSWER, ICE_CANDIDATE, STATUS_RESPONSE, GO_AWAY), so the browser's KVS
 * SDK SignalingClient works against it unchanged. Access is by an Earshot
 * signaling grant in `X-Earshot-Grant` instead of SigV4. See docs/SIGNALING.md.
 */

/** Query parameters of the connect URL. */
export const QUERY = {
  channelArn: "X-Amz-ChannelARN",
  clientId: "X-Amz-ClientId",
  grant: "X-Earshot-Grant",
} as const;

/** Close codes the relay uses (the KVS SDK does not surface them; logs and raw clients do). */
export const RELAY_CLOSE_CODES = {
  /** A newer MASTER connection, or a newer viewer connection with the same client id, took over. */
  REPLACED: 4001,
  /** Nothing received for idleTimeoutMs. */
  IDLE: 4002,
  /** maxConnectionMs reached, or the relay shuts down; GO_AWAY is sent first. */
  GOING_AWAY: 1001,
  /** The grant was withdrawn: the listener left or was replaced, or the session ended. */
  REVOKED: 4003,
} as const;

/** ws closes a connection whose single frame exceeds this with 1009 (a valid frame is ~10.3 KB). */
const MAX_FRAME_BYTES = 32 * 1024;
/** Dropped frames logged at warn per connection; later ones at debug. */
const WARN_DROPS_PER_CONNECTION = 5;
/** Forget connect buckets (once refilled: a full bucket is a new one) past this many. */
const CONNECT_BUCKET_SWEEP_AT = 1024;
/** close() waits this long for close handshakes, then terminates. */
const CLOSE_GRACE_MS = 2000;

export interface SignalingRelayLimits {
  maxPayloadLength: number;
  sdpPerSecond: number;
  icePerSecond: number;
  /**
   * Connects per second per client of a channel (each viewer client id, and the MASTER, has its own
   * budget: a client reconnecting in a loop spends only its own). Default: KVS's 3 per channel.
   */
  connectsPerSecondPerClient: number;
  idleTimeoutMs: number;
  maxConnectionMs: number;
}

export interface SignalingRelayOptions {
  verifier: Pick<TokenVerifier, "verifySignalingGrant">;
  /** Concurrent viewers per channel (KVS: 10). */
  viewersPerChannel: number;
  logger: Logger;
  /** Called when a channel's MASTER connects (true) or goes away (false). On replacement: false, then true. */
  onMasterChange?(channel: string, connected: boolean): void;
  /** Defaults: SIGNALING_LIMITS (what KVS documents). */
  limits?: Partial<SignalingRelayLimits>;
  /**
   * Whether a verified grant is still good: called on every connect after the signature, channel,
   * role and client id checks. Throws (an EarshotError) to refuse; the embedded runtime checks that
   * the session is not over and that a VIEWER grant's control connection still holds that slot.
   */
  authorize?(claims: SignalingClaims): Promise<void>;
  /** Clock for the rate limits, epoch ms (tests pin it). */
  now?: () => number;
}

export interface SignalingRelayStats {
  channels: number;
  masters: number;
  viewers: number;
}

export interface SignalingRelay {
  /** Route `upgrade` requests for /kvs here. Answers every request, never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  stats(): SignalingRelayStats;
  /** Closes (4003) a viewer's connection on a channel: its slot was released. */
  closeViewer(channel: string, clientId: string, reason: string): void;
  /** Closes (4003) every connection opened with a grant of this session: the session ended. */
  closeSession(sessionId: string, reason: string): void;
  /** Sends GO_AWAY to every connection, closes them, refuses new ones. */
  close(): Promise<void>;
}

interface Connection {
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

interface Channel {
  master?: Connection;
  viewers: Map<string, Connection>;
}

class Refused extends EarshotError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number,
    retryAfter?: number,
  ) {
    super(code, message, retryAfter === undefined ? undefined : { retryAfter });
  }
}

export function createSignalingRelay(options: SignalingRelayOptions): SignalingRelay {
  const { verifier, logger } = options;
  const viewersPerChannel = options.viewersPerChannel;
  if (!Number.isSafeInteger(viewersPerChannel) || viewersPerChannel < 1) {
    throw new RangeError(`viewersPerChannel must be a positive integer, got ${viewersPerChannel}`);
  }
  const limits: SignalingRelayLimits = {
    maxPayloadLength: options.limits?.maxPayloadLength ?? SIGNALING_LIMITS.maxPayloadLength,
    sdpPerSecond: options.limits?.sdpPerSecond ?? SIGNALING_LIMITS.sdpPerSecond,
    icePerSecond: options.limits?.icePerSecond ?? SIGNALING_LIMITS.icePerSecond,
    connectsPerSecondPerClient: options.limits?.connectsPerSecondPerClient ?? SIGNALING_LIMITS.connectsPerSecondPerChannel,
    idleTimeoutMs: options.limits?.idleTimeoutMs ?? SIGNALING_LIMITS.idleTimeoutMs,
    maxConnectionMs: options.limits?.maxConnectionMs ?? SIGNALING_LIMITS.maxConnectionMs,
  };
  for (const [key, value] of Object.entries(limits)) {
    if (!(typeof value === "number" && value > 0)) throw new RangeError(`limits.${key} must be positive, got ${value}`);
  }
  const now = options.now ?? Date.now;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const channels = new Map<string, Channel>();
  const connectBuckets = new Map<string, TokenBucket>();
  const live = new Set<Connection>();
  let nextId = 1;
  let closing = false;

  // -------------------------------------------------------------------------
  // Upgrade: parse, verify, admit

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ignoreSocketError = (error: Error) => logger.debug("signaling socket error before upgrade", { error });
    socket.on("error", ignoreSocketError);
    const ip = req.socket?.remoteAddress;
    const fail = (error: unknown, context: Record<string, unknown>) => {
      const r =
        error instanceof Refused
          ? error
          : new Refused("INTERNAL_ERROR", "Something went wrong on our side.", 500);
      if (!(error instanceof Refused)) logger.error("signaling upgrade failed", { ...context, ip, error });
      else logger.info("signaling connect refused", { ...context, ip, status: r.httpStatus, code: r.code, reason: r.message });
      refuseUpgrade(socket, r.httpStatus, r.toBody(), r.retryAfter);
    };

    let request: ConnectRequest;
    try {
      if (closing) throw new Refused("INTERNAL_ERROR", "The signaling relay is shutting down.", 503);
      request = parseConnectRequest(req.url);
    } catch (error) {
      fail(error, {});
      return;
    }

    const context = { channel: request.channel, role: request.clientId === undefined ? "MASTER" : "VIEWER", clientId: request.clientId };
    Promise.resolve()
      .then(() => verifier.verifySignalingGrant(request.grant))
      .then(
        (claims) => {
          try {
            if (closing) throw new Refused("INTERNAL_ERROR", "The signaling relay is shutting down.", 503);
            if (claims.channel !== request.channel) {
              throw new Refused("UNAUTHORIZED_ACTION", "The grant is for another signaling channel.", 403);
            }
            const role: SignalingRole = request.clientId === undefined ? "MASTER" : "VIEWER";
            if (claims.role !== role) {
              throw new Refused(
                "UNAUTHORIZED_ACTION",
                role === "MASTER"
                  ? "The grant does not allow connecting as MASTER (a VIEWER grant needs X-Amz-ClientId)."
                  : "The grant does not allow connecting as VIEWER (a MASTER grant connects without X-Amz-ClientId).",
                403,
              );
            }
            if (role === "VIEWER" && claims.clientId !== request.clientId) {
              throw new Refused("UNAUTHORIZED_ACTION", "The grant is for another client id.", 403);
            }
            // Spent before the (async) liveness check, so a loop of refused connects costs its own budget too.
            spendConnectBudget(request.channel, claims.clientId);
          } catch (error) {
            fail(error, context);
            return;
          }
          const checked = options.authorize ? Promise.resolve().then(() => options.authorize!(claims)) : Promise.resolve();
          checked.then(
            () => {
              try {
                if (closing) throw new Refused("INTERNAL_ERROR", "The signaling relay is shutting down.", 503);
                admit(req, socket, head, request.channel, claims, ignoreSocketError);
              } catch (error) {
                fail(error, context);
              }
            },
            (error: unknown) => {
              if (error instanceof EarshotError && !(error instanceof Refused) && error.code !== "INTERNAL_ERROR") {
                fail(new Refused(error.code, error.message, error.status), context);
              } else fail(error, context);
            },
          );
        },
        (error: unknown) => {
          const message = error instanceof EarshotError ? error.message : "The signaling grant is invalid.";
          fail(new Refused("UNAUTHORIZED", message, 401), context);
        },
      );
  }

  /** One budget per client of a channel (the MASTER's apart): nobody spends another's connects. */
  function spendConnectBudget(channel: string, clientId: string): void {
    const t = now();
    const key = `${channel}\u0000${clientId}`;
    let bucket = connectBuckets.get(key);
    if (!bucket) {
      sweepConnectBuckets(t);
      bucket = new TokenBucket(limits.connectsPerSecondPerClient, limits.connectsPerSecondPerClient, t);
      connectBuckets.set(key, bucket);
    }
    if (!bucket.take(t)) {
      const retryAfter = bucket.retryAfter(t);
      throw new Refused("RATE_LIMIT_EXCEEDED", `Too many connects of this client to this channel; retry in ${retryAfter} s.`, 429, retryAfter);
    }
  }

  /** Synchronous from the checks to registration, so the viewer cap cannot be raced. */
  function admit(req: IncomingMessage, socket: Duplex, head: Buffer, channel: string, claims: SignalingClaims, ignoreSocketError: (error: Error) => void): void {
    if (socket.destroyed) return;
    const { role, clientId } = claims;
    const existing = channels.get(channel);
    if (role === "VIEWER") {
      const viewers = existing?.viewers;
      if (viewers && !viewers.has(clientId) && viewers.size >= viewersPerChannel) {
        throw new Refused("CHANNEL_FULL", `This signaling channel already has ${viewersPerChannel} viewers.`, 429);
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.removeListener("error", ignoreSocketError);
      register(ws, channel, role, clientId, claims.sessionId);
    });
  }

  function sweepConnectBuckets(t: number): void {
    if (connectBuckets.size < CONNECT_BUCKET_SWEEP_AT) return;
    for (const [key, bucket] of connectBuckets) if (bucket.isFull(t)) connectBuckets.delete(key);
  }

  // -------------------------------------------------------------------------
  // Connections

  function register(ws: WebSocket, channelName: string, role: SignalingRole, clientId: string, sessionId: string): void {
    const t = now();
    const conn: Connection = {
      id: nextId++,
      ws,
      channel: channelName,
      role,
      clientId,
      sessionId,
      sdp: new TokenBucket(limits.sdpPerSecond, limits.sdpPerSecond, t),
      ice: new TokenBucket(limits.icePerSecond, limits.icePerSecond, t),
      dropped: 0,
    };
    live.add(conn);
    let channel = channels.get(channelName);
    if (!channel) {
      channel = { viewers: new Map() };
      channels.set(channelName, channel);
    }

    ws.on("message", (data, isBinary) => onFrame(conn, data, isBinary));
    ws.on("ping", () => touch(conn));
    ws.on("error", (error) => logger.warn("signaling connection error", { ...describe(conn), error }));
    ws.on("close", (code) => onClose(conn, code));
    conn.idleTimer = setTimeout(() => {
      logger.info("signaling connection idle, closing", describe(conn));
      ws.close(RELAY_CLOSE_CODES.IDLE, "Idle timeout");
    }, limits.idleTimeoutMs);
    conn.lifeTimer = setTimeout(() => {
      logger.info("signaling connection reached its maximum duration", describe(conn));
      goAway(conn, "Maximum connection duration reached");
    }, limits.maxConnectionMs);
    conn.idleTimer.unref();
    conn.lifeTimer.unref();

    if (role === "MASTER") {
      const old = channel.master;
      channel.master = conn;
      if (old) {
        logger.info("signaling master replaced", describe(old));
        old.ws.close(RELAY_CLOSE_CODES.REPLACED, "Replaced by a newer MASTER connection");
        notifyMaster(channelName, false);
      }
      notifyMaster(channelName, true);
    } else {
      const old = channel.viewers.get(clientId);
      channel.viewers.set(clientId, conn);
      if (old) {
        logger.info("signaling viewer replaced", describe(old));
        old.ws.close(RELAY_CLOSE_CODES.REPLACED, "Replaced by a newer connection with the same client id");
      }
    }
    logger.info("signaling connected", describe(conn));
  }

  function isCurrent(conn: Connection): boolean {
    const channel = channels.get(conn.channel);
    if (!channel) return false;
    return conn.role === "MASTER" ? channel.master === conn : channel.viewers.get(conn.clientId) === conn;
  }

  function onClose(conn: Connection, code: number): void {
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.lifeTimer);
    live.delete(conn);
    unregister(conn);
    logger.info("signaling disconnected", { ...describe(conn), code, dropped: conn.dropped });
  }

  /** Takes a connection out of its channel (if it is still the current one there): its slot is free at once. */
  function unregister(conn: Connection): void {
    const channel = channels.get(conn.channel);
    if (!channel || !isCurrent(conn)) return;
    if (conn.role === "MASTER") {
      channel.master = undefined;
      notifyMaster(conn.channel, false);
    } else {
      channel.viewers.delete(conn.clientId);
    }
    if (!channel.master && channel.viewers.size === 0) channels.delete(conn.channel);
  }

  function notifyMaster(channel: string, connected: boolean): void {
    if (!options.onMasterChange) return;
    try {
      options.onMasterChange(channel, connected);
    } catch (error) {
      logger.error("onMasterChange threw", { channel, connected, error });
    }
  }

  function touch(conn: Connection): void {
    conn.idleTimer?.refresh();
  }

  function goAway(conn: Connection, reason: string): void {
    send(conn, { messageType: "GO_AWAY" });
    conn.ws.close(RELAY_CLOSE_CODES.GOING_AWAY, reason);
  }

  function send(conn: Connection, event: SignalingEvent): boolean {
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(JSON.stringify(event));
    return true;
  }

  // -------------------------------------------------------------------------
  // Frames

  function onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    try {
      touch(conn);
      if (!isCurrent(conn)) return; // replaced; its close is under way
      if (isBinary) {
        drop(conn, "binary frame", refusal("INVALID_MESSAGE", "Binary frames are not supported."));
        return;
      }
      const parsed = parseClientFrame(rawToString(data), limits.maxPayloadLength);
      if (!parsed.ok) {
        refuse(conn, parsed.correlationId, parsed.refusal);
        return;
      }
      const frame = parsed.frame;
      const cls = rateClass(frame.action);
      const bucket = cls === "sdp" ? conn.sdp : conn.ice;
      if (!bucket.take(now())) {
        const what = cls === "sdp" ? `${limits.sdpPerSecond} SDP offers/answers` : `${limits.icePerSecond} ICE candidates`;
        refuse(conn, frame.correlationId, refusal("RATE_LIMIT_EXCEEDED", `More than ${what} per second on this connection.`));
        return;
      }
      route(conn, frame);
    } catch (error) {
      logger.error("signaling frame handling failed", { ...describe(conn), error });
    }
  }

  function route(conn: Connection, frame: SignalingClientFrame): void {
    const channel = channels.get(conn.channel);
    if (!channel) return;
    if (conn.role === "MASTER") {
      if (!frame.recipientClientId) {
        refuse(conn, frame.correlationId, refusal("MISSING_PARAMETER", "recipientClientId is required from the MASTER."));
        return;
      }
      const target = channel.viewers.get(frame.recipientClientId);
      if (!target || !send(target, { messageType: frame.action, messagePayload: frame.messagePayload })) {
        refuse(conn, frame.correlationId, recipientGone("No viewer with that client id is connected to this channel."));
      }
      return;
    }
    // A viewer's messages always go to the master; recipientClientId is ignored, as in KVS.
    const master = channel.master;
    if (
      !master ||
      !send(master, { messageType: frame.action, messagePayload: frame.messagePayload, senderClientId: conn.clientId })
    ) {
      refuse(conn, frame.correlationId, recipientGone("The master is not connected to this channel."));
    }
  }

  function refuse(conn: Connection, correlationId: string | undefined, r: SignalingRefusal): void {
    if (correlationId !== undefined) {
      logger.debug("signaling message refused", { ...describe(conn), code: r.code, reason: r.description, correlationId });
      send(conn, statusResponseEvent(correlationId, r));
      return;
    }
    drop(conn, "no correlationId", r);
  }

  function drop(conn: Connection, why: string, r: SignalingRefusal): void {
    conn.dropped++;
    const level = conn.dropped <= WARN_DROPS_PER_CONNECTION ? "warn" : "debug";
    logger[level]("signaling message dropped", { ...describe(conn), why, code: r.code, reason: r.description });
  }

  // -------------------------------------------------------------------------

  function stats(): SignalingRelayStats {
    let masters = 0;
    let viewers = 0;
    for (const channel of channels.values()) {
      if (channel.master) masters++;
      viewers += channel.viewers.size;
    }
    return { channels: channels.size, masters, viewers };
  }

  function revoke(conn: Connection, reason: string): void {
    logger.info("signaling grant revoked, closing", { ...describe(conn), reason });
    unregister(conn); // nothing more is routed to or from it, and its viewer slot is free now
    conn.ws.close(RELAY_CLOSE_CODES.REVOKED, reason);
  }

  function closeViewer(channel: string, clientId: string, reason: string): void {
    const conn = channels.get(channel)?.viewers.get(clientId);
    if (conn) revoke(conn, reason);
  }

  function closeSession(sessionId: string, reason: string): void {
    for (const conn of live) if (conn.sessionId === sessionId) revoke(conn, reason);
  }

  async function close(): Promise<void> {
    closing = true;
    const conns = [...live];
    const closed = conns.map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
          conn.ws.once("close", () => resolve());
        }),
    );
    for (const conn of conns) goAway(conn, "The signaling relay is shutting down");
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), CLOSE_GRACE_MS);
    });
    const result = await Promise.race([Promise.all(closed), grace]);
    clearTimeout(timer);
    if (result === "timeout") for (const conn of live) conn.ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  return { handleUpgrade, stats, closeViewer, closeSession, close };
}

// ---------------------------------------------------------------------------

interface ConnectRequest {
  channel: string;
  clientId?: string;
  grant: string;
}

function parseConnectRequest(url: string | undefined): ConnectRequest {
  let params: URLSearchParams;
  try {
    params = new URL(url ?? "/", "http://relay.invalid").searchParams;
  } catch {
    throw new Refused("INVALID_PARAMETER", "The request URL is malformed.", 400);
  }
  const single = (name: string): string | undefined => {
    const values = params.getAll(name);
    if (values.length > 1) throw new Refused("INVALID_PARAMETER", `${name} is given more than once.`, 400);
    return values[0];
  };
  const arn = single(QUERY.channelArn);
  const clientId = single(QUERY.clientId);
  const grant = single(QUERY.grant);
  if (!arn) throw new Refused("MISSING_PARAMETER", `${QUERY.channelArn} is required.`, 400);
  const parts = parseChannelArn(arn);
  if (!parts) throw new Refused("INVALID_PARAMETER", `${QUERY.channelArn} is not a signaling channel ARN.`, 400);
  if (!isEmbeddedChannelArn(arn)) {
    throw new Refused("INVALID_PARAMETER", `${QUERY.channelArn} is not an embedded channel ARN (arn:aws:kinesisvideo:local:000000000000:channel/NAME/0).`, 400);
  }
  if (clientId !== undefined && !KVS_ID_PATTERN.test(clientId)) {
    throw new Refused("INVALID_PARAMETER", `${QUERY.clientId} must be 1-256 characters of [a-zA-Z0-9_.-].`, 400);
  }
  if (!grant) throw new Refused("UNAUTHORIZED", `A signaling grant (${QUERY.grant}) is required.`, 401);
  return { channel: parts.channelName, clientId, grant };
}


function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function describe(conn: Connection): Record<string, unknown> {
  return { conn: conn.id, channel: conn.channel, role: conn.role, clientId: conn.clientId };
}
