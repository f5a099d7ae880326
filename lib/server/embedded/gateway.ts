import { refuseUpgrade } from "./upgrade-refusal";
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import { EarshotError } from "../../core/errors";
import type { ServerMessage } from "../../core/protocol";
import { TokenBucket } from "../../core/signaling";
import type { ControlPlane } from "../control/handlers";
import type { ConnectionPort, ControlEvent, Logger } from "../control/ports";
import { CLIENT_IP_HEADER, clientIp } from "../http/client-ip";
import { rawToString } from "./ws-text";

/**
 * The embedded WebSocket gateway: what API Gateway does in the cloud. It turns
 * upgrades, frames and closes into `$connect`, message and `$disconnect`
 * events for the control plane, and implements its ConnectionPort.
 *
 * Like API Gateway: a rejected `$connect` fails the upgrade with its HTTP
 * status; a message over 128 KB closes the socket with 1009; messages are
 * handled one at a time per connection, in order.
 */

/** API Gateway closes a connection whose message exceeds 128 KB (frames are limited to 32 KB). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/** What the gateway hands events to: the control plane. */
export type GatewayHandler = Pick<ControlPlane, "handle">;

export interface GatewayOptions {
  logger: Logger;
  trustProxy: boolean;
  /** Messages per connection per 10 s (API Gateway's stage throttling plays this part in the cloud). */
  messagesPer10s: number;
  /** Ping interval to find dead sockets, ms. */
  pingIntervalMs?: number;
  /** Like API Gateway: connections last at most 2 h and close after 10 min without a message. */
  maxConnectionMs?: number;
  idleTimeoutMs?: number;
}

interface Client {
  ws: WebSocket;
  queue: Promise<void>;
  /** Messages per connection: messagesPer10s, refilled evenly over 10 s. */
  messages: TokenBucket;
  alive: boolean;
  openedAt: number;
  lastMessageAt: number;
}


/** The same rule as the HTTP routes (lib/server/http/client-ip.ts), fed from the socket. */
export function socketClientIp(req: IncomingMessage, trustProxy: boolean): string {
  const headers = new Headers();
  for (const name of ["x-forwarded-for", "x-real-ip"]) {
    const v = req.headers[name];
    if (typeof v === "string") headers.set(name, v);
  }
  headers.set(CLIENT_IP_HEADER, req.socket.remoteAddress ?? "");
  return clientIp(headers, { trustProxy });
}

export class EmbeddedGateway implements ConnectionPort {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly clients = new Map<string, Client>();
  private handler?: GatewayHandler;
  private readonly pinger: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly options: GatewayOptions) {
    this.pinger = setInterval(() => this.pingAll(), options.pingIntervalMs ?? 30_000);
    this.pinger.unref();
  }

  /** The control plane needs this gateway as its port, and the gateway needs the plane: wire after both exist. */
  attach(handler: GatewayHandler): void {
    this.handler = handler;
  }

  has(connectionId: string): boolean {
    return this.clients.has(connectionId);
  }

  get size(): number {
    return this.clients.size;
  }

  async post(connectionId: string, message: ServerMessage): Promise<boolean> {
    const client = this.clients.get(connectionId);
    if (!client || client.ws.readyState !== WebSocket.OPEN) return false;
    client.ws.send(JSON.stringify(message));
    return true;
  }

  async close(connectionId: string, code = 1000, reason = ""): Promise<void> {
    this.clients.get(connectionId)?.ws.close(code, reason);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (this.closing || !this.handler) {
      return refuseUpgrade(socket, 503, { code: "INTERNAL_ERROR", message: this.closing ? "The server is restarting." : "The server is starting." }, 1);
    }
    const handler = this.handler;
    const url = new URL(req.url ?? "/", "http://localhost");
    const query = Object.fromEntries(url.searchParams);
    const connectionId = randomUUID();
    const sourceIp = socketClientIp(req, this.options.trustProxy);

    handler
      .handle({ routeKey: "$connect", connectionId, query, sourceIp })
      .then((result) => {
        if (result.statusCode !== 200) {
          return refuseUpgrade(socket, result.statusCode, result.error ?? { code: "INTERNAL_ERROR", message: "Refused." }, result.retryAfter);
        }
        if (socket.destroyed) {
          // The client gave up while $connect ran: undo it, as API Gateway sends $disconnect.
          void this.dispatch(handler, { routeKey: "$disconnect", connectionId, sourceIp });
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(handler, ws, connectionId, sourceIp));
      })
      .catch((error: unknown) => {
        this.options.logger.error("$connect failed", { error });
        refuseUpgrade(socket, 500, { code: "INTERNAL_ERROR", message: "Something went wrong on our side." });
      });
  }

  private adopt(handler: GatewayHandler, ws: WebSocket, connectionId: string, sourceIp: string): void {
    const now = Date.now();
    const perTen = this.options.messagesPer10s;
    const client: Client = { ws, queue: Promise.resolve(), messages: new TokenBucket(perTen, perTen / 10, now), alive: true, openedAt: now, lastMessageAt: now };
    this.clients.set(connectionId, client);
    ws.on("pong", () => (client.alive = true));
    ws.on("message", (data: RawData, isBinary: boolean) => {
      client.lastMessageAt = Date.now();
      if (!client.messages.take(Date.now())) {
        const error = EarshotError.rateLimited(10, "messages");
        void this.post(connectionId, { type: "error", code: error.code, message: error.message });
        return;
      }
      const body = isBinary ? "" : rawToString(data);
      client.queue = client.queue.then(() => this.dispatch(handler, { routeKey: "$default", connectionId, body, sourceIp }));
    });
    ws.on("error", (error) => this.options.logger.debug("socket error", { connectionId, error }));
    ws.on("close", () => {
      // $disconnect runs after the messages already received, once.
      // It stays in the map until then, so a shutdown waits for it before closing the store.
      client.queue = client.queue.then(async () => {
        await this.dispatch(handler, { routeKey: "$disconnect", connectionId, sourceIp });
        this.clients.delete(connectionId);
      });
    });
  }

  private async dispatch(handler: GatewayHandler, event: ControlEvent): Promise<void> {
    try {
      await handler.handle(event);
    } catch (error) {
      this.options.logger.error("handler threw", { routeKey: event.routeKey, error });
    }
  }

  private pingAll(): void {
    const now = Date.now();
    const maxAge = this.options.maxConnectionMs ?? 2 * 3600_000;
    const idle = this.options.idleTimeoutMs ?? 10 * 60_000;
    for (const client of this.clients.values()) {
      if (now - client.openedAt >= maxAge) {
        client.ws.close(1001, "connection lifetime reached");
        continue;
      }
      if (now - client.lastMessageAt >= idle) {
        client.ws.close(1001, "idle timeout");
        continue;
      }
      if (!client.alive) {
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }

  /** Closes every socket with `code` (1012: service restart, so clients come back at once) and waits for $disconnects. */
  async shutdown(code = 1012, reason = "server restart"): Promise<void> {
    this.closing = true;
    clearInterval(this.pinger);
    const queues = [...this.clients.values()].map((c) => (c.ws.close(code, reason), c));
    await Promise.all(
      queues.map((c) =>
        new Promise<void>((done) => {
          if (c.ws.readyState === WebSocket.CLOSED) return done();
          const timer = setTimeout(() => (c.ws.terminate(), done()), 2000);
          c.ws.once("close", () => (clearTimeout(timer), done()));
        }).then(() => c.queue),
      ),
    );
    this.wss.close();
  }
}

