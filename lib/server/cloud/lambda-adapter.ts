import { loadConfig, type Config } from "../config";
import { createControlPlane, pushStatus, type ControlPlane, type ControlPlaneDeps, type SweepReport } from "../control/handlers";
import type { ControlEvent, ControlResult, Logger, StatusNotifier } from "../control/ports";
import { createLogger, setLogLevel } from "../logger";
import { buildServices, type Services } from "../services";
import { createSpeechServices } from "../speech/engines";
import type { SpeechServices } from "../speech/ports";
import { ApiGatewayConnections, managementEndpoint, managementEndpointFromWsUrl } from "./apigw-connections";
import { KvsChannels } from "./kvs-channels";

/**
 * The Lambda behind API Gateway's WebSocket API. It turns API Gateway events
 * into ControlEvents for the same control plane the embedded gateway runs,
 * and gives it cloud ports: the management API for messages, KVS for
 * signaling channels, an immediate status push for count changes, and the
 * speech engines (Amazon Translate and Polly through the SDK; the speaker's
 * browser streams to Transcribe itself).
 *
 * Lambda freezes the process once the handler returns, so nothing is left
 * running: status pushes and the cleanup of connections found gone are
 * awaited before the response. createSweepHandler is the scheduled
 * counterpart: the shared sweep, with liveness from the management API.
 */

/** The parts of API Gateway's WebSocket event (APIGatewayProxyWebsocketEventV2) that are used. */
export interface WebSocketEvent {
  requestContext: {
    routeKey: string;
    connectionId: string;
    domainName: string;
    stage: string;
    apiId?: string;
    eventType?: "CONNECT" | "MESSAGE" | "DISCONNECT";
    identity?: { sourceIp?: string };
  };
  body?: string | null;
  isBase64Encoded?: boolean;
  queryStringParameters?: Record<string, string | undefined> | null;
}

export interface WebSocketResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

export type WebSocketHandler = (event: WebSocketEvent) => Promise<WebSocketResult>;

export interface LambdaAdapterOptions {
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

interface Runtime {
  config: Config;
  services: Services;
  channels: KvsChannels;
  /** Built once per container, so the translation cache outlives one event. */
  speech: SpeechServices;
  logger: Logger;
  /** One management client per endpoint (a Lambda serves one API, so one in practice). */
  connectionsFor(endpoint: string, onGone: (id: string) => void): ApiGatewayConnections;
}

async function startRuntime(options: LambdaAdapterOptions): Promise<Runtime> {
  const config = loadConfig(options.env ?? process.env);
  setLogLevel(config.logLevel);
  const logger = options.logger ?? createLogger("lambda");
  const services = await buildServices(config);
  // Viewer credentials are cached per channel for the container's life (a few minutes each).
  const channels = KvsChannels.forRegion(config.aws.region, { prefix: config.kvs.channelPrefix, logger, viewerRoleArn: config.kvs.viewerRoleArn });
  const speech = await createSpeechServices(config, { logger });
  const clients = new Map<string, ApiGatewayConnections>();
  return {
    config,
    services,
    channels,
    speech,
    logger,
    connectionsFor(endpoint, onGone) {
      let base = clients.get(endpoint);
      if (!base) clients.set(endpoint, (base = ApiGatewayConnections.forEndpoint(endpoint, config.aws.region)));
      return new ApiGatewayConnections(base.client, { onGone });
    },
  };
}

/** Rounds of "push pending statuses, clean up gone connections" after one event (each round can cause the next). */
const MAX_SETTLE_ROUNDS = 8;

/** sourceIp of the synthetic $disconnect that cleans up a connection found gone. */
const SYNTHETIC_SOURCE = "internal";

export function createWebSocketHandler(options: LambdaAdapterOptions = {}): WebSocketHandler {
  let runtime: Promise<Runtime> | undefined;
  const getRuntime = () => {
    runtime ??= startRuntime(options).catch((error: unknown) => {
      runtime = undefined;
      throw error;
    });
    return runtime;
  };

  return async (event) => {
    let rt: Runtime;
    try {
      rt = await getRuntime();
    } catch (error) {
      (options.logger ?? createLogger("lambda")).error("cannot start", { error });
      return { statusCode: 500 };
    }
    const ctx = event.requestContext;
    const controlEvent: ControlEvent = {
      routeKey: ctx.routeKey,
      connectionId: ctx.connectionId,
      body: event.body == null ? event.body : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body,
      query: event.queryStringParameters ?? undefined,
      sourceIp: ctx.identity?.sourceIp ?? "unknown",
    };

    const scope = invocationScope(rt, managementEndpoint(ctx, rt.config.aws.region));
    let result: ControlResult;
    try {
      result = await scope.plane.handle(controlEvent);
    } catch (error) {
      rt.logger.error("handler threw", { routeKey: ctx.routeKey, error });
      result = { statusCode: 500 };
    }
    // During its own $connect a connection is not open yet, so a post to it proves nothing.
    await scope.settle(ctx.routeKey === "$connect" ? ctx.connectionId : undefined);

    return toResult(ctx.routeKey, result);
  };
}

interface InvocationScope {
  plane: ControlPlane;
  connections: ApiGatewayConnections;
  /** Pushes the statuses of sessions whose counts changed and cleans up connections found gone, until quiet. */
  settle(ignoreGone?: string): Promise<void>;
}

/**
 * One control plane per invocation, with ports that record instead of
 * running in the background: the sessions whose counts changed, and the
 * connections a post found gone. settle() then does that work before the
 * Lambda returns.
 */
function invocationScope(rt: Runtime, endpoint: string): InvocationScope {
  const changed = new Set<string>();
  const gone = new Set<string>();
  const notifier: StatusNotifier = { countsChanged: (sessionId) => void changed.add(sessionId) };
  const connections = rt.connectionsFor(endpoint, (id) => gone.add(id));
  const deps: ControlPlaneDeps = {
    store: rt.services.store,
    verifier: rt.services.verifier,
    connections,
    notifier,
    channels: rt.channels,
    config: rt.config,
    logger: rt.logger,
    speech: rt.speech,
  };
  const plane = createControlPlane(deps);
  return {
    plane,
    connections,
    async settle(ignoreGone) {
      for (let round = 0; round < MAX_SETTLE_ROUNDS && (changed.size > 0 || gone.size > 0); round++) {
        const sessions = [...changed];
        changed.clear();
        const departed = [...gone].filter((id) => id !== ignoreGone);
        gone.clear();
        const outcomes = await Promise.allSettled([
          ...sessions.map((sessionId) => pushStatus(deps, sessionId)),
          // The same path as API Gateway's own $disconnect: the row goes exactly once, counts follow.
          ...departed.map((connectionId) => plane.handle({ routeKey: "$disconnect", connectionId, sourceIp: SYNTHETIC_SOURCE })),
        ]);
        for (const o of outcomes) if (o.status === "rejected") rt.logger.warn("after-event work failed", { error: o.reason });
      }
    },
  };
}

export interface SweepHandlerOptions extends LambdaAdapterOptions {
  /** Connections younger than this are left alone (they may be inside $connect). */
  graceMs?: number;
}

/**
 * The scheduled sweep (EventBridge, every few minutes). API Gateway delivers
 * `$disconnect` on a best-effort basis, so rows of vanished connections are
 * found by asking the management API (GetConnection) and removed through the
 * shared sweep, which also ends expired sessions' listeners and reconciles counts.
 */
export function createSweepHandler(options: SweepHandlerOptions = {}): () => Promise<SweepReport | { error: string }> {
  let runtime: Promise<Runtime> | undefined;
  return async () => {
    let rt: Runtime;
    try {
      runtime ??= startRuntime(options);
      rt = await runtime;
    } catch (error) {
      runtime = undefined;
      (options.logger ?? createLogger("sweep")).error("cannot start", { error });
      return { error: "configuration" };
    }
    if (!rt.config.wsUrl) {
      rt.logger.error("EARSHOT_WS_URL is not set; the sweep cannot reach the management API");
      return { error: "configuration" };
    }
    const scope = invocationScope(rt, managementEndpointFromWsUrl(rt.config.wsUrl));
    const report = await scope.plane.sweep((c) => scope.connections.isAlive(c.connectionId), { graceMs: options.graceMs });
    await scope.settle();
    if (report.removed || report.expired || report.corrected) rt.logger.info("sweep", { ...report });
    return report;
  };
}

function toResult(routeKey: string, result: ControlResult): WebSocketResult {
  // Only $connect's status reaches the client (a non-2xx refuses the handshake); message routes
  // have no route response, their replies went out through the management API.
  if (routeKey !== "$connect") return { statusCode: result.statusCode >= 500 ? 500 : 200 };
  const headers: Record<string, string> = {};
  if (result.retryAfter !== undefined) headers["Retry-After"] = String(result.retryAfter);
  return {
    statusCode: result.statusCode,
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(result.error ? { body: JSON.stringify({ error: result.error }) } : {}),
  };
}
