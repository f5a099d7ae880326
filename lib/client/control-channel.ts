import type { ClientAction, ClientMessage, ReplyTo, ServerMessage } from "../core/protocol";
export type { ReplyTo, ServerMessageOfType } from "../core/protocol";
import { DefaultReconnectPolicy, replacementDelayMs, type ReconnectContext, type ReconnectPolicy } from "./backoff";
import { TypedEmitter } from "./emitter";
import { ControlChannelError } from "./errors";
import { withQuery, type ControlQuery } from "./ws-url";

// Where these lived before the split; ListenerSession and the WebRTC viewer import them from here.
export { DefaultReconnectPolicy, RESTART_CLOSE_CODE, replacementDelayMs } from "./backoff";
export type { BackoffOptions, ReconnectContext, ReconnectPolicy } from "./backoff";
export { TypedEmitter } from "./emitter";
export { ControlChannelError, type ControlErrorCode as ClientErrorCode } from "./errors";

/**
 * The browser side of the WebSocket control channel: one typed class over the
 * platform WebSocket (no Node imports). It matches replies to requests by
 * `requestId`, sends a heartbeat, notices dead sockets, and reconnects with
 * exponential backoff and full jitter (backoff.ts). After a reconnect it emits
 * `reconnected`, and the page's session re-joins (a new socket is a new
 * connection to the server: nothing of the old one carries over).
 *
 * Why it stays one file past 400 lines: it has one job, the life of one
 * logical connection. Opening, request/reply, heartbeat, reconnect and the
 * make-before-break replacement all turn on the same socket, `generation`
 * counter and pending-request map; split, each part would need the others'
 * private state. The emitter (emitter.ts), the retry policy (backoff.ts) and
 * the errors (errors.ts) are apart.
 */

/** `closed` before connect(), after close(), and after the channel gave up. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** The server's sweep closed a listener socket that had not joined within its grace period (handlers.ts). */
export const UNJOINED_CLOSE_CODE = 1008;

export interface DisconnectInfo {
  code: number;
  reason: string;
  /** False when the channel stopped for good (closed by the server or gave up). */
  willReconnect: boolean;
}

export interface ControlChannelEvents {
  /** Every server message except error replies to a request (those reject the request instead). */
  message: (message: ServerMessage) => void;
  /** The connection state changed. */
  stateChanged: (state: ConnectionState, previous: ConnectionState) => void;
  /**
   * A new socket is open after a drop, or replaced the old one before the
   * server's connection cap (make-before-break): re-join or re-attach now.
   */
  reconnected: () => void;
  /** An open socket closed. */
  disconnected: (info: DisconnectInfo) => void;
}

// ---------------------------------------------------------------------------
// Requests

/** A client message as the caller writes it; request() adds the requestId. */
export type Outgoing<A extends ClientAction = ClientAction> = Omit<Extract<ClientMessage, { action: A }>, "requestId">;

interface Pending {
  action: string;
  resolve: (message: ServerMessage) => void;
  reject: (error: ControlChannelError) => void;
  timer: ReturnType<typeof setTimeout>;
}

// ---------------------------------------------------------------------------
// The channel

/** The part of the WebSocket API the channel uses (the browser's, or a fake in tests). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;

export interface ControlChannelOptions {
  /** Base control URL (see ws-url.ts), without the query; a function is read at each connect. */
  url: string | (() => string);
  /** Query for each connect; a function is called again before every reconnect (fresh token, current language). */
  query?: ControlQuery | (() => ControlQuery | Promise<ControlQuery>);
  onMessage?: ControlChannelEvents["message"];
  onStateChange?: ControlChannelEvents["stateChanged"];
  onReconnected?: ControlChannelEvents["reconnected"];
  reconnectPolicy?: ReconnectPolicy;
  /** Asked before each retry; false stops (e.g. the session has ended). */
  shouldReconnect?: (context: ReconnectContext) => boolean | Promise<boolean>;
  /** Heartbeat period, ms (default 60 000; API Gateway drops connections idle for 10 minutes). */
  heartbeatIntervalMs?: number;
  /** A heartbeat not answered within this is a dead socket, ms (default 15 000). */
  heartbeatTimeoutMs?: number;
  /** Default time a request waits for its reply, ms (default 10 000). */
  requestTimeoutMs?: number;
  /** Time a socket may take to open, ms (default 10 000). */
  connectTimeoutMs?: number;
  /**
   * The server closes a connection at this age (API Gateway: 2 h; the embedded
   * gateway: EARSHOT_WS_MAX_CONNECTION_SECONDS, passed to the page). Before it,
   * the channel opens a new socket, swaps to it and emits `reconnected` (the
   * page re-joins with its clientKey, and the server closes the old socket with
   * 4000, which is expected); the old socket is closed a little later.
   * Undefined: no replacement.
   */
  maxConnectionMs?: number;
  /** Creates the socket (default: the browser's WebSocket). */
  createWebSocket?: (url: string) => WebSocketLike;
  now?: () => number;
}

/** Close codes after which the channel does not come back: 1000 is a deliberate close (e.g. the session ended). */
const FINAL_CLOSE_CODES = new Set([1000]);
const HEARTBEAT_TIMEOUT_CLOSE = 4000;
/**
 * 1001: the server's connection cap or idle close (one connection at a time): retry at once (no backoff wait).
 * 1012 (the server restarts, everyone at once) is the policy's: a short random spread (DefaultReconnectPolicy).
 */
const IMMEDIATE_RETRY_CODES = new Set([1001]);
/** How long a replaced socket stays open for replies still on their way, ms. */
const RETIRE_GRACE_MS = 2_000;

export class ControlChannel extends TypedEmitter<ControlChannelEvents> {
  private readonly options: ControlChannelOptions;
  private readonly policy: ReconnectPolicy;
  private readonly now: () => number;
  private socket?: WebSocketLike;
  private currentState: ConnectionState = "closed";
  /** Bumped for every socket; events of older sockets are ignored. */
  private generation = 0;
  private stopped = true;
  private everOpened = false;
  private retryCount = 0;
  private droppedAt?: number;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private connectTimer?: ReturnType<typeof setTimeout>;
  private heartbeatTimer?: ReturnType<typeof setInterval>;
  private replaceTimer?: ReturnType<typeof setTimeout>;
  /** A new socket opening to replace the current one before the cap (make-before-break). */
  private successor?: WebSocketLike;
  /** Replaced sockets still open for replies in flight; closed after RETIRE_GRACE_MS. */
  private readonly retiring = new Set<WebSocketLike>();
  private readonly pending = new Map<string, Pending>();
  private sequence = 0;
  private readonly idPrefix = Math.random().toString(36).slice(2, 8);
  private initial?: { promise: Promise<void>; resolve: () => void; reject: (error: ControlChannelError) => void };

  constructor(options: ControlChannelOptions) {
    super();
    this.options = options;
    this.policy = options.reconnectPolicy ?? new DefaultReconnectPolicy();
    this.now = options.now ?? Date.now;
    if (options.onMessage) this.on("message", options.onMessage);
    if (options.onStateChange) this.on("stateChanged", options.onStateChange);
    if (options.onReconnected) this.on("reconnected", options.onReconnected);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /**
   * Opens the channel. Resolves once the first socket is open; rejects
   * (CONNECT_FAILED) when it cannot open: the server refused the connection
   * or could not be reached. Drops after that reconnect on their own.
   */
  connect(): Promise<void> {
    if (!this.stopped) return this.initial?.promise ?? Promise.resolve();
    this.stopped = false;
    this.everOpened = false;
    this.retryCount = 0;
    this.droppedAt = undefined;
    if (typeof window !== "undefined") window.addEventListener("online", this.onOnline);
    this.setState("connecting");
    let resolve!: () => void;
    let reject!: (error: ControlChannelError) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.initial = { promise, resolve, reject };
    void this.openSocket();
    return promise;
  }

  /** Sends a message without waiting for a reply. Throws NOT_CONNECTED when the socket is not open. */
  send(message: ClientMessage): void {
    const socket = this.socket;
    if (this.currentState !== "open" || !socket || socket.readyState !== OPEN) throw ControlChannelError.notConnected();
    socket.send(JSON.stringify(message));
  }

  /**
   * Sends a message with a fresh requestId and resolves with the reply that
   * carries it; rejects with the server's error (code, message), or with
   * TIMEOUT, NOT_CONNECTED or CONNECTION_CLOSED.
   */
  request<A extends ClientAction>(message: Outgoing<A> & { action: A }, options: { timeoutMs?: number } = {}): Promise<ReplyTo<A>> {
    const requestId = `${this.idPrefix}-${++this.sequence}`;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 10_000;
    return new Promise<ReplyTo<A>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(ControlChannelError.timeout(message.action, timeoutMs));
      }, timeoutMs);
      this.pending.set(requestId, {
        action: message.action,
        resolve: (reply) => resolve(reply as ReplyTo<A>),
        reject,
        timer,
      });
      try {
        this.send({ ...message, requestId } as ClientMessage);
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(error instanceof ControlChannelError ? error : ControlChannelError.notConnected());
      }
    });
  }

  /** Closes for good: no reconnect; pending requests reject with CONNECTION_CLOSED. */
  close(code = 1000, reason = "client closed"): void {
    this.stopped = true;
    this.clearTimers();
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
    this.dropSuccessor();
    for (const old of this.retiring) closeQuietly(old, code, reason);
    this.retiring.clear();
    this.dropSocket(code, reason);
    this.rejectPending();
    this.initial?.reject(ControlChannelError.connectFailed(new Error("closed by the client")));
    this.initial = undefined;
    this.setState("closed");
  }

  // -------------------------------------------------------------------------

  private setState(next: ConnectionState): void {
    const previous = this.currentState;
    if (previous === next) return;
    this.currentState = next;
    this.emit("stateChanged", next, previous);
  }

  /**
   * The one place a socket is made, for a connect and for a replacement:
   * reads the URL and the query (a fresh token) and creates the socket.
   * Undefined when the channel moved on meanwhile (`isCurrent` went false).
   * Throws a SocketSetupError when preparing or creating failed.
   */
  private async createSocket(isCurrent: () => boolean): Promise<WebSocketLike | undefined> {
    let url: string;
    try {
      const q = this.options.query;
      const query = typeof q === "function" ? await q() : (q ?? {});
      const base = typeof this.options.url === "function" ? this.options.url() : this.options.url;
      url = withQuery(base, query);
    } catch (cause) {
      throw new SocketSetupError("could not prepare the connection", cause);
    }
    if (!isCurrent()) return undefined;
    try {
      return this.options.createWebSocket ? this.options.createWebSocket(url) : (new WebSocket(url) as unknown as WebSocketLike);
    } catch (cause) {
      throw new SocketSetupError("could not open a socket", cause);
    }
  }

  private async openSocket(): Promise<void> {
    const generation = ++this.generation;
    let socket: WebSocketLike | undefined;
    try {
      socket = await this.createSocket(() => generation === this.generation && !this.stopped);
    } catch (error) {
      const { reason, cause } = error as SocketSetupError;
      if (generation === this.generation && !this.stopped) this.onSocketGone(generation, 4001, reason, cause);
      return;
    }
    if (!socket) return;
    this.socket = socket;
    this.connectTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      this.dropSocket(HEARTBEAT_TIMEOUT_CLOSE, "connect timeout");
      this.onSocketGone(generation, 1006, "connect timeout");
    }, this.options.connectTimeoutMs ?? 10_000);

    socket.onopen = () => {
      if (generation !== this.generation) return;
      clearTimeout(this.connectTimer);
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.retryCount = 0;
      this.droppedAt = undefined;
      this.setState("open");
      this.startHeartbeat(generation);
      this.scheduleReplacement(generation);
      this.initial?.resolve();
      this.initial = undefined;
      if (reconnected) this.emit("reconnected");
    };
    socket.onmessage = (event) => {
      if (generation === this.generation) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (generation === this.generation) this.onSocketGone(generation, event.code, event.reason);
    };
    socket.onerror = () => {
      // A close event always follows; it decides what happens.
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    let message: ServerMessage;
    try {
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed !== "object" || parsed === null || typeof (parsed as { type?: unknown }).type !== "string") return;
      message = parsed as ServerMessage;
    } catch {
      return;
    }
    const requestId = "requestId" in message && typeof message.requestId === "string" ? message.requestId : undefined;
    const pending = requestId ? this.pending.get(requestId) : undefined;
    if (requestId && pending) {
      this.pending.delete(requestId);
      clearTimeout(pending.timer);
      if (message.type === "error") {
        pending.reject(ControlChannelError.fromServer(message));
        return;
      }
      pending.resolve(message);
    }
    this.emit("message", message);
  }

  /** The current socket closed or failed; decide between reconnecting and stopping. */
  private onSocketGone(generation: number, code: number, reason: string, cause?: unknown): void {
    if (generation !== this.generation) return;
    const wasOpen = this.currentState === "open";
    this.generation++; // ignore anything more from this socket
    this.socket = undefined;
    this.clearTimers();
    this.dropSuccessor();
    this.rejectPending();
    if (this.stopped) return;

    if (!this.everOpened) {
      // The first connect failed: report it; the caller decides whether to try again.
      this.stopped = true;
      this.initial?.reject(ControlChannelError.connectFailed(cause ?? new Error(`closed with ${code} ${reason}`.trim())));
      this.initial = undefined;
      this.setState("closed");
      return;
    }
    if (FINAL_CLOSE_CODES.has(code)) {
      this.stopped = true;
      this.setState("closed");
      if (wasOpen) this.emit("disconnected", { code, reason, willReconnect: false });
      return;
    }
    this.droppedAt ??= this.now();
    this.setState("reconnecting");
    if (wasOpen) this.emit("disconnected", { code, reason, willReconnect: true });
    void this.scheduleRetry(code);
  }

  private async scheduleRetry(closeCode: number): Promise<void> {
    const context: ReconnectContext = { retryCount: this.retryCount, elapsedMs: this.now() - (this.droppedAt ?? this.now()), closeCode };
    const generation = this.generation;
    let proceed = true;
    try {
      proceed = this.options.shouldReconnect ? await this.options.shouldReconnect(context) : true;
    } catch {
      proceed = true; // the check itself failed (offline): keep trying
    }
    if (this.stopped || generation !== this.generation) return;
    let delay = proceed ? this.policy.nextRetryDelayMs(context) : null;
    // A cap announced by the server: come back at once (later retries back off as usual).
    if (delay !== null && context.retryCount === 0 && IMMEDIATE_RETRY_CODES.has(closeCode)) delay = 0;
    if (delay === null) {
      this.stopped = true;
      this.setState("closed");
      this.emit("disconnected", { code: closeCode, reason: "gave up reconnecting", willReconnect: false });
      return;
    }
    this.retryTimer = setTimeout(() => this.retryNow(), delay);
  }

  private retryNow(): void {
    if (this.stopped || this.currentState !== "reconnecting") return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryCount++;
    void this.openSocket();
  }

  /** The browser is back online: skip the rest of the wait. */
  private readonly onOnline = (): void => {
    if (this.retryTimer !== undefined) this.retryNow();
  };

  private startHeartbeat(generation: number): void {
    const period = this.options.heartbeatIntervalMs ?? 60_000;
    const timeout = this.options.heartbeatTimeoutMs ?? 15_000;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (generation !== this.generation || this.currentState !== "open") return;
      this.request({ action: "heartbeat" }, { timeoutMs: timeout }).catch((error: unknown) => {
        if (generation !== this.generation) return;
        if (error instanceof ControlChannelError && error.code === "TIMEOUT") {
          // Half-open socket (network change, sleeping laptop): drop it and reconnect.
          this.dropSocket(HEARTBEAT_TIMEOUT_CLOSE, "heartbeat timeout");
          this.onSocketGone(generation, HEARTBEAT_TIMEOUT_CLOSE, "heartbeat timeout");
        }
      });
    }, period);
  }

  /** Detaches and closes the current socket without waiting for its close event. */
  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.replaceTimer);
    this.retryTimer = this.connectTimer = this.heartbeatTimer = this.replaceTimer = undefined;
  }

  // -------------------------------------------------------------------------
  // Make-before-break replacement before the server's connection cap

  private scheduleReplacement(generation: number): void {
    const max = this.options.maxConnectionMs;
    clearTimeout(this.replaceTimer);
    if (max === undefined || !(max > 0)) return;
    this.replaceTimer = setTimeout(() => void this.replace(generation), replacementDelayMs(max));
  }

  /**
   * Opens a new socket beside the current one; once it is open, swaps to it and
   * emits `reconnected`. If it cannot open, the current socket stays; when the
   * server closes it at the cap, the ordinary reconnect takes over.
   */
  private async replace(generation: number): Promise<void> {
    if (generation !== this.generation || this.stopped || this.currentState !== "open" || this.successor) return;
    let created: WebSocketLike | undefined;
    try {
      created = await this.createSocket(() => generation === this.generation && !this.stopped);
    } catch {
      return; // the current socket stays; at the cap the ordinary reconnect takes over
    }
    if (!created) return;
    const next = created;
    this.successor = next;
    const openTimer = setTimeout(() => {
      if (this.successor === next) this.dropSuccessor();
    }, this.options.connectTimeoutMs ?? 10_000);
    next.onclose = next.onerror = () => {
      clearTimeout(openTimer);
      if (this.successor === next) this.successor = undefined;
    };
    next.onmessage = null;
    next.onopen = () => {
      clearTimeout(openTimer);
      if (this.successor !== next) return;
      this.successor = undefined;
      if (generation !== this.generation || this.stopped || this.currentState !== "open" || !this.socket) {
        closeQuietly(next, 1000, "not needed");
        return;
      }
      this.retire(this.socket);
      const g = ++this.generation;
      this.socket = next;
      next.onmessage = (event) => {
        if (g === this.generation) this.receive(event.data);
      };
      next.onclose = (event) => {
        if (g === this.generation) this.onSocketGone(g, event.code, event.reason);
      };
      next.onerror = () => undefined;
      this.startHeartbeat(g);
      this.scheduleReplacement(g);
      this.emit("reconnected");
    };
  }

  /**
   * The replaced socket: its close (the server's 4000 "replaced by a newer
   * connection" after the re-join, or our own) is expected and ignored; only
   * replies to requests sent on it are still read, events are not (they
   * arrive on the new socket too).
   */
  private retire(old: WebSocketLike): void {
    this.retiring.add(old);
    old.onopen = old.onerror = null;
    old.onclose = () => this.retiring.delete(old);
    old.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      try {
        const parsed = JSON.parse(event.data) as { requestId?: unknown };
        if (typeof parsed.requestId === "string" && this.pending.has(parsed.requestId)) this.receive(event.data);
      } catch {
        // not JSON: ignore
      }
    };
    setTimeout(() => {
      if (!this.retiring.delete(old)) return;
      closeQuietly(old, 1000, "replaced by a newer connection");
    }, RETIRE_GRACE_MS);
  }

  private dropSuccessor(): void {
    const next = this.successor;
    this.successor = undefined;
    if (next) closeQuietly(next, 1000, "not needed");
  }

  private rejectPending(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(ControlChannelError.closed(pending.action));
      this.pending.delete(id);
    }
  }
}

/** Detaches a socket's handlers and closes it, ignoring a socket already closing. */
function closeQuietly(socket: WebSocketLike, code: number, reason: string): void {
  socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
  try {
    socket.close(code, reason);
  } catch {
    // already closing
  }
}

/** Preparing the URL or creating the socket failed; `reason` goes to onSocketGone like a close reason. */
class SocketSetupError extends Error {
  constructor(
    readonly reason: string,
    cause: unknown,
  ) {
    super(reason, { cause });
  }
}
