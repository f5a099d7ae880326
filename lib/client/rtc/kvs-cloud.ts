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
 * - VIEWER (listeners, no account): the Cognito Identity Pool's guest
 *   identity. Guest credentials from the enhanced flow
 *   (`fromCognitoIdentityPool`) are scoped down by Cognito to a service list
 *   without kinesisvideo, so with the viewer role the server names
 *   (`viewerRoleArn`) the basic flow is used: GetId and GetOpenIdToken
 *   (unsigned calls), then STS AssumeRoleWithWebIdentity on that role.
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

const providers = new Map<string, AwsCredentialIdentityProvider>();

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
      : await guestCredentials(access, fetchImpl));
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

async function guestCredentials(access: KvsAccess, fetchImpl: typeof fetch): Promise<AwsCredentialIdentityProvider> {
  const key = `${access.identityPoolId}|${access.viewerRoleArn}`;
  const cached = providers.get(key);
  if (cached) return cached;
  const { fromCognitoIdentityPool, fromWebToken } = await import("@aws-sdk/credential-providers");
  let provider: AwsCredentialIdentityProvider;
  if (access.viewerRoleArn) {
    const roleArn = access.viewerRoleArn;
    provider = async () => {
      const token = await cognitoOpenIdToken(access.region, access.identityPoolId, fetchImpl);
      return fromWebToken({ roleArn, webIdentityToken: token, roleSessionName: "earshot-listener", clientConfig: { region: access.region } })();
    };
  } else {
    provider = fromCognitoIdentityPool({ identityPoolId: access.identityPoolId, clientConfig: { region: access.region } });
  }
  const memo = memoizeCredentials(provider);
  providers.set(key, memo);
  return memo;
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

const IDENTITY_KEY = "earshot.cognitoIdentityId";

/**
 * The Cognito basic (classic) flow for a guest: GetId, then GetOpenIdToken.
 * Both are unsigned JSON calls, so they need no AWS client here.
 */
export async function cognitoOpenIdToken(region: string, identityPoolId: string, fetchImpl: typeof fetch = fetch): Promise<string> {
  const call = async <T>(target: "GetId" | "GetOpenIdToken", body: Record<string, string>): Promise<T> => {
    const res = await fetchImpl(`https://cognito-identity.${region}.amazonaws.com/`, {
      method: "POST",
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityService.${target}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as T & { __type?: string; message?: string };
    if (!res.ok) throw new RtcError("CHANNEL_CONFIG", `Cognito ${target} failed: ${json.__type ?? res.status} ${json.message ?? ""}`.trim());
    return json;
  };
  let identityId = readStored(IDENTITY_KEY);
  if (!identityId) {
    identityId = (await call<{ IdentityId?: string }>("GetId", { IdentityPoolId: identityPoolId })).IdentityId;
    if (!identityId) throw new RtcError("CHANNEL_CONFIG", "Cognito GetId returned no identity.");
    writeStored(IDENTITY_KEY, identityId);
  }
  try {
    const { Token } = await call<{ Token?: string }>("GetOpenIdToken", { IdentityId: identityId });
    if (!Token) throw new RtcError("CHANNEL_CONFIG", "Cognito GetOpenIdToken returned no token.");
    return Token;
  } catch (error) {
    // A remembered identity may have been deleted: forget it, so the next attempt starts over.
    removeStored(IDENTITY_KEY);
    throw error;
  }
}

function readStored(key: string): string | undefined {
  try {
    return globalThis.localStorage?.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}
function writeStored(key: string, value: string): void {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // storage blocked: a new identity next time
  }
}
function removeStored(key: string): void {
  try {
    globalThis.localStorage?.removeItem(key);
  } catch {
    // nothing to forget
  }
}
