import { Role, SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import type { SignalingClientConfig } from "amazon-kinesis-video-streams-webrtc/lib/SignalingClient";
import type { MediaChannelGrant, SignalingAccess } from "@/lib/core/protocol";
import { EMBEDDED_REGION, SIGNALING_QUERY } from "@/lib/core/signaling-constants";
import { RtcError } from "./errors";
import type { KvsResolveOptions } from "./kvs-cloud";
import type { SignalingRole } from "./kvs-config";

/**
 * The signaling factory: one SDK `SignalingClient` for a channel of the
 * latest `mediaChannel` message, for either runtime.
 *
 * - embedded: the relay at `signaling.endpoint`, the channel ARN from the
 *   grant message, and a local request signer that appends the grant as
 *   `X-Earshot-Grant` (docs/SIGNALING.md). No ICE servers: on loopback and
 *   on a LAN host candidates connect.
 * - kvs: real Kinesis Video Streams (kvs-cloud.ts, loaded on demand): SigV4
 *   with the credentials the server scoped to the channel (a listener's come
 *   with it; the speaker's from the app), endpoints and TURN servers from the KVS APIs.
 */

export type { SignalingRole };

export interface SignalingTarget {
  access: SignalingAccess;
  channel: MediaChannelGrant;
  role: SignalingRole;
  /** The viewer's client id (VIEWER only). */
  clientId?: string;
}

export interface SignalingSetup {
  client: SignalingClient;
  rtcConfiguration: RTCConfiguration;
}

export type SignalingFactory = (target: SignalingTarget) => Promise<SignalingSetup>;


export interface PageLocation {
  protocol: string;
  host: string;
  hostname: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * The relay endpoint as this page can reach it. The server builds it from its
 * public URL; when that names a loopback host but the page was opened under
 * another name (a phone on the LAN), the page's own host is used, and an
 * https page upgrades ws: to wss: (a browser refuses mixed content).
 */
export function resolveEmbeddedEndpoint(endpoint: string, page?: PageLocation): string {
  let url: URL;
  try {
    url = page ? new URL(endpoint, `${page.protocol}//${page.host}`) : new URL(endpoint);
  } catch (error) {
    throw new RtcError("CHANNEL_CONFIG", `The signaling endpoint "${endpoint}" is not a URL.`, { cause: error });
  }
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new RtcError("CHANNEL_CONFIG", `The signaling endpoint must be ws:// or wss://, got ${url.protocol}`);
  }
  if (page) {
    if (LOOPBACK.has(url.hostname) && !LOOPBACK.has(page.hostname)) {
      const origin = new URL(`${page.protocol}//${page.host}`);
      url.hostname = origin.hostname;
      url.port = origin.port;
    }
    if (page.protocol === "https:" && url.protocol === "ws:") url.protocol = "wss:";
  }
  return url.toString();
}

/** A request signer for the embedded relay: the SDK's query plus the grant; no SigV4. */
export function embeddedRequestSigner(grant: string) {
  return {
    getSignedURL: async (endpoint: string, queryParams: Record<string, string>): Promise<string> => {
      const url = new URL(endpoint);
      for (const [key, value] of Object.entries(queryParams)) url.searchParams.set(key, value);
      url.searchParams.set(SIGNALING_QUERY.grant, grant);
      return url.toString();
    },
  };
}

/** SignalingClient options for the embedded relay (pure; unit-tested). */
export function embeddedClientConfig(
  access: Extract<SignalingAccess, { kind: "embedded" }>,
  channel: MediaChannelGrant,
  role: SignalingRole,
  clientId?: string,
  page?: PageLocation,
): SignalingClientConfig {
  if (!channel.grant || !channel.channelArn) {
    throw new RtcError("CHANNEL_CONFIG", `The media channel ${channel.channelName} came without a grant or ARN.`);
  }
  if (role === "VIEWER" && !clientId) throw new RtcError("CHANNEL_CONFIG", "A viewer needs its client id.");
  return {
    channelARN: channel.channelArn,
    channelEndpoint: resolveEmbeddedEndpoint(access.endpoint, page),
    region: EMBEDDED_REGION, // only used by SigV4, which the relay does not need
    role: role === "MASTER" ? Role.MASTER : Role.VIEWER,
    clientId: role === "VIEWER" ? clientId : undefined,
    requestSigner: embeddedRequestSigner(channel.grant),
  };
}

function currentPage(): PageLocation | undefined {
  return typeof window === "undefined" ? undefined : window.location;
}

/** Creates the factory; `cloud` options go to the KVS resolution (e.g. a signed-in speaker's credentials). */
export function signalingFactory(cloud: KvsResolveOptions = {}): SignalingFactory {
  return async ({ access, channel, role, clientId }) => {
    if (access.kind === "embedded") {
      const config = embeddedClientConfig(access, channel, role, clientId, currentPage());
      return { client: new SignalingClient(config), rtcConfiguration: { iceServers: [], bundlePolicy: "max-bundle" } };
    }
    const { resolveKvsSignaling } = await import("./kvs-cloud");
    const resolved = await resolveKvsSignaling(access, channel, role, clientId, cloud);
    return { client: new SignalingClient(resolved.clientConfig), rtcConfiguration: resolved.rtcConfiguration };
  };
}

export const createSignaling: SignalingFactory = signalingFactory();
