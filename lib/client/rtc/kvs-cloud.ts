import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { MediaChannelGrant, SignalingAccess } from "@/lib/core/protocol";
import { RtcError } from "./errors";
import { kvsSignalingConfig, type KvsSignalingConfig, type SignalingRole } from "./kvs-config";

/**
 * Cloud signaling: real Kinesis Video Streams. Loaded with import() only
 * when `mediaChannel.signaling.kind` is "kvs", so the AWS SDK never weighs on
 * the embedded pages.
 *
 * Credentials:
 * - VIEWER (listeners, no account): the ones the control plane handed out
 *   with the channel (`signaling.credentials`): short-lived, scoped by an STS
 *   session policy to that one channel.
 * - MASTER (the signed-in speaker): credentials from the app's
 *   `/api/speaker/kvs-credentials?channel=`, which open only the channels of
 *   that session, and only for its owner (an STS session policy).
 */

export type KvsAccess = Extract<SignalingAccess, { kind: "kvs" }>;

export interface KvsResolveOptions {
  /** Credentials to use instead of the defaults above. */
  credentials?: AwsCredentialIdentityProvider;
  fetch?: typeof fetch;
  /** Where the speaker's KVS credentials come from (default /api/speaker/kvs-credentials). */
  speakerCredentialsUrl?: string;
}

/** Resolves the channel ARN, endpoints, ICE servers and credentials, and maps them to SignalingClient options. */
export async function resolveKvsSignaling(
  access: KvsAccess,
  channel: MediaChannelGrant,
  role: SignalingRole,
  clientId: string | undefined,
  options: KvsResolveOptions = {},
): Promise<KvsSignalingConfig> {
  const [kv, kvs] = await Promise.all([import("@aws-sdk/client-kinesis-video"), import("@aws-sdk/client-kinesis-video-signaling")]);
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const credentialProvider =
    options.credentials ??
    (role === "MASTER"
      ? speakerCredentials(withChannel(options.speakerCredentialsUrl ?? "/api/speaker/kvs-credentials", channel.channelName), fetchImpl)
      : viewerCredentials(access));
  try {
    const credentials = await credentialProvider();
    const region = access.region;
    const control = new kv.KinesisVideoClient({ region, credentials });
    let channelArn = channel.channelArn;
    if (!channelArn) {
      const described = await control.send(new kv.DescribeSignalingChannelCommand({ ChannelName: channel.channelName }));
      channelArn = described.ChannelInfo?.ChannelARN;
      if (!channelArn) throw new RtcError("CHANNEL_CONFIG", `DescribeSignalingChannel found no ARN for ${channel.channelName}.`);
    }
    const endpoint = await control.send(
      new kv.GetSignalingChannelEndpointCommand({
        ChannelARN: channelArn,
        SingleMasterChannelEndpointConfiguration: { Protocols: ["WSS", "HTTPS"], Role: role },
      }),
    );
    const endpoints = endpoint.ResourceEndpointList ?? [];
    const https = endpoints.find((e) => e.Protocol === "HTTPS")?.ResourceEndpoint;
    if (!https) throw new RtcError("CHANNEL_CONFIG", "GetSignalingChannelEndpoint returned no HTTPS endpoint.");
    const signaling = new kvs.KinesisVideoSignalingClient({ region, credentials, endpoint: https });
    const ice = await signaling.send(new kvs.GetIceServerConfigCommand({ ChannelARN: channelArn, ClientId: clientId, Service: "TURN" }));
    return kvsSignalingConfig({
      region,
      role,
      clientId,
      channelArn,
      endpoints,
      iceServers: ice.IceServerList ?? [],
      credentials: asCredentials(credentials),
    });
  } catch (error) {
    if (error instanceof RtcError) throw error;
    throw new RtcError("CHANNEL_CONFIG", "Could not look up the Kinesis Video signaling channel.", { cause: error });
  }
}

function asCredentials(c: AwsCredentialIdentity) {
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
}

/** A listener's credentials: as the control plane gave them with its channel (no other source). */
function viewerCredentials(access: KvsAccess): AwsCredentialIdentityProvider {
  const c = access.credentials;
  if (!c?.accessKeyId || !c.secretAccessKey) {
    throw new RtcError("CHANNEL_CONFIG", "The server gave no credentials for this channel; ask for the media channel again.");
  }
  const credentials: AwsCredentialIdentity = {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: new Date(c.expiration),
  };
  return async () => credentials;
}

/** The server scopes the speaker's credentials to one session: it names the session by a channel of it. */
export function withChannel(url: string, channelName: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}channel=${encodeURIComponent(channelName)}`;
}

const speakerProviders = new Map<string, AwsCredentialIdentityProvider>();

/**
 * The signed-in speaker's AWS credentials from the app (cloud only), scoped
 * by the server to one session (name it with `withChannel`), reused until
 * close to expiry: KVS as MASTER, and Transcribe streaming.
 */
export function speakerCredentials(url: string, fetchImpl: typeof fetch): AwsCredentialIdentityProvider {
  const cached = speakerProviders.get(url);
  if (cached) return cached;
  const provider = memoizeCredentials(async () => {
    const res = await fetchImpl(url, { cache: "no-store" });
    if (!res.ok) throw new RtcError("CHANNEL_CONFIG", `Could not get the speaker's KVS credentials (HTTP ${res.status}).`);
    const body = (await res.json()) as { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string; expiration?: number };
    if (!body.accessKeyId || !body.secretAccessKey) throw new RtcError("CHANNEL_CONFIG", "The speaker's KVS credentials are incomplete.");
    return {
      accessKeyId: body.accessKeyId,
      secretAccessKey: body.secretAccessKey,
      sessionToken: body.sessionToken,
      expiration: typeof body.expiration === "number" ? new Date(body.expiration) : undefined,
    };
  });
  speakerProviders.set(url, provider);
  return provider;
}

/** Reuses credentials until five minutes before they expire. */
export function memoizeCredentials(provider: AwsCredentialIdentityProvider, now: () => number = Date.now): AwsCredentialIdentityProvider {
  let current: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    if (current) {
      const c = await current.catch(() => undefined);
      if (c && (!c.expiration || c.expiration.getTime() - now() > 5 * 60_000)) return c;
    }
    current = provider();
    return current;
  };
}
