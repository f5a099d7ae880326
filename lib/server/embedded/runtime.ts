import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { loadConfig, resetConfig, type Config } from "../config";
import { buildServices, setServices, type Services } from "../services";
import { MemoryCounters, processRateCounters } from "../store/store";
import { createControlPlane, createCoalescingNotifier, pushStatus, type ControlPlane } from "../control/handlers";
import { createLogger, setLogLevel } from "../logger";
import { generateKeyPairPem } from "../tokens";
import { ensureDemoSpeaker } from "../auth/speakers";
import { CLIENT_IP_HEADER } from "../http/client-ip";
import { EmbeddedGateway } from "./gateway";
import { embeddedPaths, ensureTables, startLocalDynamo, type LocalDynamo } from "./local-dynamo";
import { createSignalingRelay, type SignalingRelay } from "./signaling-relay";
import { createGrantCheck } from "./grant-check";
import { createUpgradeRouter, type UpgradeHandler } from "./upgrade-router";
import { relayChannels } from "./relay-channels";
import { reachableUrl, type Interfaces } from "./network";
import { createSpeechServices, pocketsphinxRecognizer, type ManagedSpeechServices } from "../speech/engines";
import { TRANSCRIBE_PATH, createTranscribeEndpoint, type TranscribeEndpoint } from "../speech/transcribe-server";
import { setProcessSpeech } from "../services";
import type { SpeechServices } from "../speech/ports";

/**
 * The embedded runtime: one Node process serving Next.js, the WebSocket
 * control gateway at /ws and the signaling relay at /kvs on one port, with
 * the DynamoDB-protocol store on loopback. It fills in the configuration the
 * cloud gets from its operator (store endpoint, keys, auth secret), then
 * everything else reads config exactly as in the cloud.
 */

export interface EmbeddedOptions {
  /** Environment to run with (default process.env). The runtime adds what it generates. */
  env?: NodeJS.ProcessEnv;
  /** "prod": a built Next app; "dev": Next dev server with hot reload; "none": control plane and relay only (tests, benchmarks). */
  web?: "prod" | "dev" | "none";
  /** Create the demo speaker (default true). */
  demoSpeaker?: boolean;
  /** The machine's network interfaces (default os.networkInterfaces()); tests inject them. */
  interfaces?: Interfaces;
  /** Wraps the speech services the runtime started (tests: count or fail calls). */
  speech?: (real: SpeechServices) => SpeechServices;
}

export interface EmbeddedRuntime {
  config: Config;
  services: Services;
  plane: ControlPlane;
  gateway: EmbeddedGateway;
  /** The speech engines started from config (local engines not installed: off, with notices). */
  speech: ManagedSpeechServices;
  relay: SignalingRelay;
  url: string;
  port: number;
  /** Where `url` came from: EARSHOT_PUBLIC_URL, the LAN address (other devices can open it), or only loopback. */
  urlSource: Config["publicUrlSource"];
  /** Graceful stop: refuse new work, close sockets with 1012, flush, close the store. */
  close(): Promise<void>;
}

interface Secrets {
  privateKey: string;
  publicKey: string;
  nextAuthSecret: string;
}

async function loadOrCreateSecrets(config: Config): Promise<Secrets> {
  const path = config.data.kind === "disk" ? embeddedPaths(config.data.path).secrets : undefined;
  if (path && existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as Secrets;
  const keys = await generateKeyPairPem();
  const secrets: Secrets = { ...keys, nextAuthSecret: randomBytes(32).toString("base64url") };
  if (path) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedRuntime> {
  const env = options.env ?? process.env;
  const web = options.web ?? "prod";
  const log = createLogger("earshot");
  const first = loadConfig(env);
  if (first.mode !== "embedded") throw new Error("EARSHOT_MODE=cloud: the embedded runtime does not run in cloud mode (deploy with infra/).");
  setLogLevel(first.logLevel);
  const operatorPublicUrl = first.publicUrlSource === "configured" ? first.publicUrl : undefined;

  const dynamo: LocalDynamo = await startLocalDynamo(first.data);
  const secrets = await loadOrCreateSecrets(first);
  // Until everything is up, requests get 503 with Retry-After rather than waiting on a handler that is not there yet.
  let ready = false;
  const server = createServer((req, res) => {
    if (ready) return;
    res.writeHead(503, { "content-type": "application/json", "retry-after": "1" }).end(
      JSON.stringify({ error: { code: "INTERNAL_ERROR", message: "Earshot is starting; retry in a moment." } }),
    );
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(first.port, first.host, () => (server.off("error", fail), done()));
  });
  const port = (server.address() as AddressInfo).port;
  // Without EARSHOT_PUBLIC_URL, join links and QR codes use an address the audience's phones can open.
  const chosen = first.publicUrlSource === "configured" ? undefined : reachableUrl(port, first.host, options.interfaces);
  const publicUrl = chosen?.url ?? first.publicUrl;

  // What the operator sets in the cloud, the embedded runtime sets for itself.
  env.PORT = String(port);
  env.EARSHOT_PUBLIC_URL = publicUrl;
  env.EARSHOT_PUBLIC_URL_SOURCE = chosen?.source ?? "configured";
  env.EARSHOT_DYNAMODB_ENDPOINT = dynamo.endpoint;
  env.EARSHOT_TOKEN_PRIVATE_KEY ??= secrets.privateKey;
  env.EARSHOT_TOKEN_PUBLIC_KEY ??= secrets.publicKey;
  env.NEXTAUTH_SECRET ??= secrets.nextAuthSecret;
  // An operator who configured the public URL gets exactly that as next-auth's origin (sign-in
  // callbacks and redirects never take another host; https there means Secure cookies). Without
  // one, sign-in works under whatever host the browser used (localhost, 127.0.0.1, a LAN address):
  // next-auth takes its origin from the Host header, which this server alone fills (see below).
  if (!env.NEXTAUTH_URL && operatorPublicUrl) env.NEXTAUTH_URL = operatorPublicUrl;
  if (!env.NEXTAUTH_URL) env.AUTH_TRUST_HOST = "true";
  // Next's route handlers read process.env; without the web app, the env stays the caller's own.
  if (web !== "none" && env !== process.env) Object.assign(process.env, env);
  resetConfig();
  const config = loadConfig(env);

  // With the web app, Next's route handlers share this process's counters; without it (tests), each runtime has its own.
  const services = await buildServices(config, { counters: web === "none" ? new MemoryCounters() : processRateCounters() });
  await ensureTables(services.store.doc, config.tablePrefix);
  if (options.demoSpeaker !== false) {
    const { created } = await ensureDemoSpeaker(services.store, config.demoPassword);
    if (created) log.info("created the demo speaker", { email: "speaker@earshot.local" });
  }

  // Apertium chains load in the background when serving people; tests start them on first use.
  let transcribe: TranscribeEndpoint | undefined;
  const managedSpeech = await createSpeechServices(config, {
    logger: createLogger("speech"),
    warm: web !== "none",
    path: env.PATH,
    recognizerUrl: async (sessionId, speakerId) => transcribe?.urlFor(config.publicUrl, sessionId, speakerId, "en-US"),
  });
  if (managedSpeech.engines.asr === "local" && services.signer) {
    transcribe = createTranscribeEndpoint({
      verifier: services.verifier,
      signer: services.signer,
      recognizer: pocketsphinxRecognizer({ postSpeechFrames: Math.round(config.speech.pauseMs / 10) }),
      logger: createLogger("transcribe"),
      maxStreams: config.speech.maxRecognizerStreams,
      languageCodes: ["en-US"],
    });
  }
  const speech = options.speech ? options.speech(managedSpeech) : managedSpeech;
  services.speech = speech;
  if (web !== "none") {
    setProcessSpeech(speech);
    // Next's route handlers in this process use these very services (one store client, one set of
    // counters, the engines above) rather than building their own from config inside Next's bundle.
    setServices(services);
  }

  const gateway = new EmbeddedGateway({
    logger: createLogger("gateway"),
    trustProxy: config.trustProxy,
    messagesPer10s: config.limits.messagesPer10s,
    maxConnectionMs: config.ws.maxConnectionSeconds * 1000,
    idleTimeoutMs: config.ws.idleSeconds * 1000,
    pingIntervalMs: Math.min(30_000, config.ws.idleSeconds * 500, config.ws.maxConnectionSeconds * 500),
  });
  const deps = { store: services.store, connections: gateway };
  const notifier = createCoalescingNotifier((sessionId) => pushStatus(deps, sessionId), 100, log);
  const relay = createSignalingRelay({
    verifier: services.verifier,
    // Grants are good only while their session runs and their listener holds the slot.
    authorize: createGrantCheck(services.store, config.kvs.channelPrefix),
    viewersPerChannel: config.kvs.viewersPerChannel,
    limits: { maxConnectionMs: config.signaling.maxConnectionSeconds * 1000 },
    logger: createLogger("relay"),
  });
  // The relay makes channels on first use; what the control plane releases, it closes.
  const channels = relayChannels({ config, signer: services.signer, relay });
  const plane = createControlPlane({
    ...deps,
    notifier,
    channels,
    verifier: services.verifier,
    config,
    logger: createLogger("control"),
    speech,
  });
  // Nothing survives a restart but the store: every connection row is stale. Un-count them all
  // and recompute counts before the first client comes back.
  // Nothing is in flight before the first client: no grace, no quiet period, no settling.
  const boot = await plane.sweep(() => false, { graceMs: 0, quietMs: 0, settleMs: 0 });
  if (boot.scanned > 0) log.info("swept connections left by the previous run", { ...boot });
  gateway.attach(plane);
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    plane
      .sweep((c) => gateway.has(c.connectionId))
      .then((r) => (r.removed || r.corrected || r.expired || r.unjoined ? log.info("sweep", { ...r }) : undefined))
      .catch((error: unknown) => log.warn("sweep failed", { error }))
      .finally(() => (sweeping = false));
  }, config.sweepIntervalSeconds * 1000);
  sweeper.unref();

  let nextHandler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let nextUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>) | undefined;
  let nextClose: (() => Promise<void>) | undefined;
  if (web !== "none") {
    const { default: next } = await import("next");
    const app = next({ dev: web === "dev", dir: process.cwd(), hostname: "localhost", port, httpServer: server });
    await app.prepare();
    nextHandler = app.getRequestHandler();
    nextUpgrade = app.getUpgradeHandler();
    nextClose = () => app.close();
  }

  ready = true;
  server.on("request", (req, res) => {
    // Route handlers cannot see the socket: hand them the peer address, overwriting anything the client sent.
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "";
    if (!config.trustProxy) {
      // No proxy in front: forwarding headers can only be the client's own inventions.
      delete req.headers["x-forwarded-host"];
      delete req.headers["x-forwarded-for"];
      req.headers["x-forwarded-proto"] = "http";
    }
    if (nextHandler) {
      nextHandler(req, res).catch((error: unknown) => {
        log.error("request failed", { url: req.url, error });
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/api/health") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", mode: "embedded", web: "none" }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "NOT_FOUND", message: "This runtime serves /ws and /kvs only." } }));
  });
  // Unknown paths are refused at once (404); in dev, Next's hot-reload socket still reaches Next.
  const localTranscribe = transcribe;
  const transcribeEndpoint: UpgradeHandler | undefined = localTranscribe
    ? (req, socket, head) => localTranscribe.handleUpgrade(req, socket, head)
    : undefined;
  const routeUpgrade = createUpgradeRouter({
    routes: {
      "/ws": (req, socket, head) => gateway.handleUpgrade(req, socket, head),
      "/kvs": (req, socket, head) => relay.handleUpgrade(req, socket, head),
      // The local recogniser's endpoint, only when it runs (otherwise refused like any unknown path).
      ...(transcribeEndpoint ? { [TRANSCRIBE_PATH]: transcribeEndpoint } : {}),
    },
    nextDev:
      web === "dev" && nextUpgrade
        ? (req, socket, head) =>
            void nextUpgrade(req, socket, head).catch((error: unknown) => {
              log.warn("dev upgrade failed", { url: req.url, error });
              socket.destroy();
            })
        : undefined,
    onTimeout: (path) => log.warn("upgrade not answered in time, closed", { path }),
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => routeUpgrade(req, socket, head));

  const runtimeFile = config.data.kind === "disk" ? embeddedPaths(config.data.path).runtime : undefined;
  if (runtimeFile) writeFileSync(runtimeFile, JSON.stringify({ pid: process.pid, port, endpoint: dynamo.endpoint }), { mode: 0o600 });

  let closed: Promise<void> | undefined;
  return {
    config,
    services,
    plane,
    gateway,
    speech: managedSpeech,
    relay,
    url: publicUrl,
    port,
    urlSource: config.publicUrlSource,
    close: () =>
      (closed ??= (async () => {
        clearInterval(sweeper);
        server.close();
        await gateway.shutdown(1012, "server restart");
        await relay.close();
        await notifier.flush();
        await nextClose?.().catch(() => undefined);
        await transcribe?.close();
        await managedSpeech.close();
        if (web !== "none") {
          setProcessSpeech(undefined);
          setServices(undefined);
        }
        server.closeAllConnections();
        await dynamo.close();
        if (runtimeFile) rmSync(runtimeFile, { force: true });
      })()),
  };
}
