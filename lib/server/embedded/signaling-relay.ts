import { refuseUpgrade } from "./upgrade-refusal";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket } from "ws";
import { EarshotError } from "../../core/errors";
import { SIGNALING_CLOSE_CODES, SIGNALING_LIMITS, TokenBucket, type SignalingRole } from "../../core/signaling";
import type { Logger } from "../control/ports";
import type { SignalingClaims, TokenVerifier } from "../tokens";
import { ConnectBudgets, Refused, checkGrant, parseConnectRequest, requestedRole, type ConnectRequest } from "./signaling-admission";
import { describe, isCurrent, onFrame, send, touch, type RelayChannel, type RelayConnection, type RoutingContext } from "./signaling-routing";

/**
 * The embedded KVS signaling relay: the same WebSocket protocol as Kinesis
 * Video Streams signaling (ConnectAsMaster / ConnectAsViewer, SDP_OFFER,
 * SDP_ANSWER, ICE_CANDIDATE, STATUS_RESPONSE, GO_AWAY), so the browser's KVS
 * SDK SignalingClient works against it unchanged. Access is by an Earshot
 * signaling grant in `X-Earshot-Grant` instead of SigV4. See docs/SIGNALING.md.
 *
 * This module holds the channels and their connections (admit, replace,
 * revoke, time out, shut down); who may connect is signaling-admission.ts,
 * what a frame may do and where it goes is signaling-routing.ts.
 */

/** ws closes a connection with 1009 when a message (or any one frame of it) exceeds this; a valid KVS frame is ~10.3 KB. */
const MAX_MESSAGE_BYTES = 32 * 1024;
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

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  const connectBudgets = new ConnectBudgets(limits.connectsPerSecondPerClient);
  const live = new Set<RelayConnection>();
  const channels = new Map<string, RelayChannel>();
  const routing: RoutingContext = { channels, limits, logger, now };
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

    const context = { channel: request.channel, role: requestedRole(request), clientId: request.clientId };
    Promise.resolve()
      .then(() => verifier.verifySignalingGrant(request.grant))
      .then(
        (claims) => {
          try {
            if (closing) throw new Refused("INTERNAL_ERROR", "The signaling relay is shutting down.", 503);
            checkGrant(claims, request);
            // Spent before the (async) liveness check, so a loop of refused connects costs its own budget too.
            connectBudgets.spend(request.channel, claims.clientId, now());
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

  // -------------------------------------------------------------------------
  // Connections

  function register(ws: WebSocket, channelName: string, role: SignalingRole, clientId: string, sessionId: string): void {
    const t = now();
    const conn: RelayConnection = {
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

    ws.on("message", (data, isBinary) => onFrame(routing, conn, data, isBinary));
    ws.on("ping", () => touch(conn));
    ws.on("error", (error) => logger.warn("signaling connection error", { ...describe(conn), error }));
    ws.on("close", (code) => onClose(conn, code));
    conn.idleTimer = setTimeout(() => {
      logger.info("signaling connection idle, closing", describe(conn));
      ws.close(SIGNALING_CLOSE_CODES.IDLE, "Idle timeout");
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
        old.ws.close(SIGNALING_CLOSE_CODES.REPLACED, "Replaced by a newer MASTER connection");
        notifyMaster(channelName, false);
      }
      notifyMaster(channelName, true);
    } else {
      const old = channel.viewers.get(clientId);
      channel.viewers.set(clientId, conn);
      if (old) {
        logger.info("signaling viewer replaced", describe(old));
        old.ws.close(SIGNALING_CLOSE_CODES.REPLACED, "Replaced by a newer connection with the same client id");
      }
    }
    logger.info("signaling connected", describe(conn));
  }

  function onClose(conn: RelayConnection, code: number): void {
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.lifeTimer);
    live.delete(conn);
    unregister(conn);
    logger.info("signaling disconnected", { ...describe(conn), code, dropped: conn.dropped });
  }

  /** Takes a connection out of its channel (if it is still the current one there): its slot is free at once. */
  function unregister(conn: RelayConnection): void {
    const channel = channels.get(conn.channel);
    if (!channel || !isCurrent(channels, conn)) return;
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

  function goAway(conn: RelayConnection, reason: string): void {
    send(conn, { messageType: "GO_AWAY" });
    conn.ws.close(SIGNALING_CLOSE_CODES.GOING_AWAY, reason);
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

  function revoke(conn: RelayConnection, reason: string): void {
    logger.info("signaling grant revoked, closing", { ...describe(conn), reason });
    unregister(conn); // nothing more is routed to or from it, and its viewer slot is free now
    conn.ws.close(SIGNALING_CLOSE_CODES.REVOKED, reason);
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
