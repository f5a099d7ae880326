import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import type { ServerMessage } from "../../core/protocol";
import type { ConnectionPort } from "../control/ports";

/**
 * ConnectionPort over API Gateway's management API (`@connections`), for the
 * Lambda. A connection API Gateway no longer knows answers 410 GoneException:
 * `post` resolves false and reports it through `onGone`, so the caller can
 * clean up the connection's row; every other failure is thrown.
 */

/** What API Gateway puts in a WebSocket event's requestContext that locates the management API. */
export interface EndpointContext {
  domainName: string;
  stage: string;
  apiId?: string;
}

/**
 * The management endpoint of the API a WebSocket event came through:
 * `https://{domainName}/{stage}` for the execute-api domain. Behind a custom
 * domain, domainName is the custom name and its path mapping may differ from
 * the stage, so the execute-api form is built from apiId and region instead.
 */
export function managementEndpoint(ctx: EndpointContext, region: string): string {
  const executeApi = /\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(ctx.domainName);
  if (!executeApi && ctx.apiId) return `https://${ctx.apiId}.execute-api.${region}.amazonaws.com/${ctx.stage}`;
  return `https://${ctx.domainName}/${ctx.stage}`;
}

/** The management endpoint of the stage a client URL (EARSHOT_WS_URL, `wss://host/stage`) points at. */
export function managementEndpointFromWsUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  if (url.protocol !== "wss:" && url.protocol !== "ws:") throw new Error(`Not a WebSocket URL: ${wsUrl}`);
  return `${url.protocol === "wss:" ? "https:" : "http:"}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

export function isGone(error: unknown): boolean {
  if (error instanceof GoneException) return true;
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === "GoneException" || status === 410;
}

export interface ApiGatewayConnectionsOptions {
  /** Called once per post that found the connection gone. */
  onGone?: (connectionId: string) => void;
}

const encoder = new TextEncoder();

export class ApiGatewayConnections implements ConnectionPort {
  constructor(
    readonly client: ApiGatewayManagementApiClient,
    private readonly options: ApiGatewayConnectionsOptions = {},
  ) {}

  static forEndpoint(endpoint: string, region: string, options?: ApiGatewayConnectionsOptions): ApiGatewayConnections {
    return new ApiGatewayConnections(new ApiGatewayManagementApiClient({ endpoint, region }), options);
  }

  async post(connectionId: string, message: ServerMessage): Promise<boolean> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(JSON.stringify(message)) }));
      return true;
    } catch (error) {
      if (!isGone(error)) throw error;
      this.options.onGone?.(connectionId);
      return false;
    }
  }

  /**
   * Whether API Gateway still holds the connection. Only a definite "gone"
   * answers false: on any other failure the connection is presumed alive,
   * so a passing error never makes a sweep drop a live listener.
   */
  async isAlive(connectionId: string): Promise<boolean> {
    try {
      await this.client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      return true;
    } catch (error) {
      return !isGone(error);
    }
  }

  /**
   * Closes a connection. API Gateway's DeleteConnection carries no close code
   * or reason (the client sees 1000-ish from the gateway), so `code` and
   * `reason` are not transmitted; send an explanatory message before closing.
   */
  async close(connectionId: string, _code?: number, _reason?: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }
}
