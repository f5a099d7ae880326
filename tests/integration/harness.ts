import WebSocket from "ws";
import { SignJWT, importPKCS8 } from "jose";
import { startEmbedded, type EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import type { ServerMessage } from "../../lib/core/protocol";
import { createCoalescingNotifier, createControlPlane, pushStatus, type ControlPlane } from "../../lib/server/control/handlers";
import { createLogger } from "../../lib/server/logger";
import type { SpeechServices } from "../../lib/server/speech/ports";
import { relayChannels } from "../../lib/server/embedded/relay-channels";

/**
 * Starts the embedded runtime (control plane, relay, dynalite in memory) on an
 * ephemeral loopback port, without Next, and drives it with real `ws` clients.
 */
export async function startTestRuntime(env: Record<string, string> = {}): Promise<EmbeddedRuntime> {
  return startEmbedded({
    web: "none",
    env: {
      ...process.env,
      NODE_ENV: "test",
      EARSHOT_DATA: "memory",
      PORT: "0",
      HOST: "127.0.0.1",
      EARSHOT_LOG_LEVEL: "error",
      EARSHOT_LIMIT_CONNECTS_PER_MINUTE: "100000",
      EARSHOT_LIMIT_FAILED_LOOKUPS_PER_MINUTE: "100000",
      EARSHOT_LIMIT_LOOKUPS_PER_MINUTE: "100000",
      EARSHOT_LIMIT_MESSAGES_PER_10S: "100000",
      ...env,
    },
  });
}

type Msg = ServerMessage;
/** The message variants whose type can be T. */
type Of<T extends Msg["type"]> = Msg extends infer M ? (M extends { type: infer U } ? (T extends U ? M : never) : never) : never;

let counter = 0;

export class TestClient {
  readonly messages: Msg[] = [];
  private waiters: { match: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as Msg;
      const waiter = this.waiters.find((w) => w.match(msg));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(msg);
      } else {
        this.messages.push(msg);
      }
    });
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  }

  static async connect(runtime: EmbeddedRuntime, query: Record<string, string | undefined> = {}): Promise<TestClient> {
    const ws = new WebSocket(wsUrl(runtime, query));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
      ws.once("error", reject);
    });
    return new TestClient(ws);
  }

  /** Resolves with the first message (already received or future) that matches. */
  next<T extends Msg["type"]>(type: T, where: (m: Of<T>) => boolean = () => true): Promise<Of<T>> {
    const match = (m: Msg) => m.type === type && where(m as Of<T>);
    const index = this.messages.findIndex(match);
    if (index >= 0) return Promise.resolve(this.messages.splice(index, 1)[0] as Of<T>);
    return new Promise((resolve) => this.waiters.push({ match, resolve: resolve as (m: Msg) => void }));
  }

  /** Forgets messages received so far, so that next() waits for what comes after this point. */
  clear(): void {
    this.messages.length = 0;
  }

  send(message: Record<string, unknown> | string): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Sends with a fresh requestId and resolves with the reply that echoes it (a result or an error). */
  async request(message: Record<string, unknown>): Promise<Msg> {
    const requestId = `r${++counter}`;
    const reply = new Promise<Msg>((resolve) =>
      this.waiters.push({ match: (m) => "requestId" in m && m.requestId === requestId, resolve }),
    );
    this.send({ ...message, requestId });
    return reply;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export function wsUrl(runtime: EmbeddedRuntime, query: Record<string, string | undefined>): string {
  const url = new URL(`ws://127.0.0.1:${runtime.port}/ws`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

/** Attempts a connection expected to be refused; resolves with the HTTP status, body and headers. */
export function refusal(runtime: EmbeddedRuntime, query: Record<string, string | undefined>): Promise<{ status: number; body: { error?: { code: string; message: string } }; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(runtime, query));
    ws.once("open", () => (ws.close(), reject(new Error("the connection was accepted"))));
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}"), retryAfter: res.headers["retry-after"] as string | undefined }));
    });
    ws.once("error", () => undefined);
  });
}

export async function speakerToken(runtime: EmbeddedRuntime, speakerId = "speaker-1"): Promise<string> {
  const signer = runtime.services.signer;
  if (!signer) throw new Error("runtime has no signer");
  return (await signer.speakerToken({ speakerId, email: `${speakerId}@example.com` })).token;
}

/** A token signed with the runtime's real key but already expired. */
export async function expiredToken(runtime: EmbeddedRuntime, speakerId = "speaker-1"): Promise<string> {
  const key = await importPKCS8(runtime.config.tokens.privateKey!, "ES256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256" })
    .setIssuer(runtime.config.tokens.issuer)
    .setAudience("earshot:control")
    .setSubject(speakerId)
    .setIssuedAt(now - 1200)
    .setExpirationTime(now - 600)
    .sign(key);
}

/** An unsigned token (`alg: none`) claiming to be the speaker. */
export function algNoneToken(runtime: EmbeddedRuntime, speakerId = "speaker-1"): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: runtime.config.tokens.issuer, aud: "earshot:control", sub: speakerId, iat: now, exp: now + 600 })}.`;
}

/** Creates a session as a speaker and returns the speaker client and the session id. */
export async function createSession(
  runtime: EmbeddedRuntime,
  opts: { speakerId?: string; sourceLanguage?: string; title?: string; targetLanguages?: string[]; recognizer?: string } = {},
) {
  const token = await speakerToken(runtime, opts.speakerId);
  const speaker = await TestClient.connect(runtime, { token });
  const created = await speaker.request({
    action: "createSession",
    sourceLanguage: opts.sourceLanguage ?? "en",
    title: opts.title ?? "Keynote",
    ...(opts.targetLanguages ? { targetLanguages: opts.targetLanguages } : {}),
    ...(opts.recognizer ? { recognizer: opts.recognizer } : {}),
  });
  if (created.type !== "sessionCreated") throw new Error(`createSession failed: ${JSON.stringify(created)}`);
  return { speaker, sessionId: created.sessionId, created, token };
}

export async function joinAsListener(runtime: EmbeddedRuntime, sessionId: string, targetLanguage: string, opts: { speech?: boolean } = {}) {
  const client = await TestClient.connect(runtime, { sessionId, targetLanguage });
  const joined = await client.request({ action: "joinSession", sessionId, targetLanguage, ...(opts.speech === undefined ? {} : { speech: opts.speech }) });
  if (joined.type !== "sessionJoined") throw new Error(`joinSession failed: ${JSON.stringify(joined)}`);
  return client;
}

/**
 * Rate limits count in fixed windows (e.g. a minute). A test that counts
 * attempts starts at least `marginS` seconds before the window ends, so its
 * attempts fall in one window (waiting out the rest of the current one if needed).
 */
export async function withinOneRateWindow(windowS = 60, marginS = 15): Promise<void> {
  const nowS = Date.now() / 1000;
  const left = windowS - (nowS % windowS);
  if (left < marginS) await new Promise((r) => setTimeout(r, left * 1000 + 50));
}

/**
 * Serves this runtime's control channel with a control plane that has these
 * speech services (a test wraps the real engines, e.g. with a translator
 * that fails for one language). Returns the new control plane.
 */
export function attachSpeech(runtime: EmbeddedRuntime, speech: SpeechServices | undefined): ControlPlane {
  const deps = { store: runtime.services.store, connections: runtime.gateway };
  const plane = createControlPlane({
    ...deps,
    notifier: createCoalescingNotifier((sessionId) => pushStatus(deps, sessionId), 100),
    // Grants as the runtime's; closing relay connections stays the runtime's own control plane's.
    channels: relayChannels({ config: runtime.config, signer: runtime.services.signer }),
    verifier: runtime.services.verifier,
    config: runtime.config,
    logger: createLogger("control"),
    speech,
  });
  runtime.gateway.attach(plane);
  return plane;
}
