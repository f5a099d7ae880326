import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  DescribeSignalingChannelCommand,
  GetSignalingChannelEndpointCommand,
  KinesisVideoClient,
} from "@aws-sdk/client-kinesis-video";
import { GetIceServerConfigCommand, KinesisVideoSignalingClient } from "@aws-sdk/client-kinesis-video-signaling";
import { Role } from "amazon-kinesis-video-streams-webrtc";
import { endpointFor, kvsIceServers, kvsSignalingConfig, kvsStunUrl } from "@/lib/client/rtc/kvs-config";
import { cognitoOpenIdToken, memoizeCredentials, resolveKvsSignaling } from "@/lib/client/rtc/kvs-cloud";
import { RtcError } from "@/lib/client/rtc/errors";

const ARN = "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/earshot-pure-psalm-481-0/1764100000000";
const ENDPOINTS = [
  { Protocol: "HTTPS" as const, ResourceEndpoint: "https://r-1234.kinesisvideo.eu-west-1.amazonaws.com" },
  { Protocol: "WSS" as const, ResourceEndpoint: "wss://v-5678.kinesisvideo.eu-west-1.amazonaws.com" },
];
const TURN = [
  { Uris: ["turn:1-2-3-4.t-1.kinesisvideo.eu-west-1.amazonaws.com:443?transport=udp", "turns:1-2-3-4.t-1.kinesisvideo.eu-west-1.amazonaws.com:443?transport=tcp"], Username: "u1", Password: "p1", Ttl: 300 },
  { Uris: [], Username: "ignored", Password: "x" },
];
const CREDS = { accessKeyId: "AKIA", secretAccessKey: "secret", sessionToken: "token" };
const ACCESS = { kind: "kvs", region: "eu-west-1", identityPoolId: "eu-west-1:00000000-0000-0000-0000-000000000000", viewerRoleArn: "arn:aws:iam::123456789012:role/viewer" } as const;

describe("KVS responses → SignalingClient options and RTCConfiguration", () => {
  it("maps a viewer: WSS endpoint, STUN first, then each TURN server with its credentials", () => {
    const config = kvsSignalingConfig({ region: "eu-west-1", role: "VIEWER", clientId: "v-1", channelArn: ARN, endpoints: ENDPOINTS, iceServers: TURN, credentials: CREDS });
    expect(config.clientConfig).toEqual({
      channelARN: ARN,
      channelEndpoint: "wss://v-5678.kinesisvideo.eu-west-1.amazonaws.com",
      region: "eu-west-1",
      role: Role.VIEWER,
      clientId: "v-1",
      credentials: CREDS,
    });
    expect(config.rtcConfiguration).toEqual({
      bundlePolicy: "max-bundle",
      iceServers: [
        { urls: "stun:stun.kinesisvideo.eu-west-1.amazonaws.com:443" },
        { urls: TURN[0]!.Uris, username: "u1", credential: "p1" },
      ],
    });
  });

  it("maps a master without a client id, and refuses what cannot work", () => {
    const config = kvsSignalingConfig({ region: "eu-west-1", role: "MASTER", channelArn: ARN, endpoints: ENDPOINTS, iceServers: [], credentials: CREDS });
    expect(config.clientConfig.role).toBe(Role.MASTER);
    expect(config.clientConfig.clientId).toBeUndefined();
    expect(() => kvsSignalingConfig({ region: "eu-west-1", role: "VIEWER", channelArn: ARN, endpoints: ENDPOINTS, iceServers: [], credentials: CREDS })).toThrow(RtcError);
    expect(() => endpointFor([{ Protocol: "HTTPS", ResourceEndpoint: "https://x" }], "WSS")).toThrow(/no WSS endpoint/);
    expect(kvsStunUrl("cn-north-1")).toBe("stun:stun.kinesisvideo.cn-north-1.amazonaws.com.cn:443");
    expect(kvsIceServers("us-east-1", [])).toEqual([{ urls: "stun:stun.kinesisvideo.us-east-1.amazonaws.com:443" }]);
  });
});

describe("resolveKvsSignaling (AWS clients mocked)", () => {
  const kv = mockClient(KinesisVideoClient);
  const kvs = mockClient(KinesisVideoSignalingClient);
  beforeEach(() => {
    kv.reset();
    kvs.reset();
    kv.on(DescribeSignalingChannelCommand).resolves({ ChannelInfo: { ChannelARN: ARN } });
    kv.on(GetSignalingChannelEndpointCommand).resolves({ ResourceEndpointList: ENDPOINTS });
    kvs.on(GetIceServerConfigCommand).resolves({ IceServerList: TURN });
  });

  it("looks up the ARN by name, asks for the role's endpoints and the TURN servers", async () => {
    const credentials = vi.fn(async () => CREDS);
    const config = await resolveKvsSignaling(ACCESS, { shard: 0, channelName: "earshot-pure-psalm-481-0" }, "VIEWER", "v-1", { credentials });
    expect(kv.commandCalls(DescribeSignalingChannelCommand)[0]!.args[0].input).toEqual({ ChannelName: "earshot-pure-psalm-481-0" });
    expect(kv.commandCalls(GetSignalingChannelEndpointCommand)[0]!.args[0].input).toEqual({
      ChannelARN: ARN,
      SingleMasterChannelEndpointConfiguration: { Protocols: ["WSS", "HTTPS"], Role: "VIEWER" },
    });
    expect(kvs.commandCalls(GetIceServerConfigCommand)[0]!.args[0].input).toEqual({ ChannelARN: ARN, ClientId: "v-1", Service: "TURN" });
    expect(config.clientConfig).toMatchObject({ channelARN: ARN, role: Role.VIEWER, clientId: "v-1", credentials: CREDS });
    expect(config.rtcConfiguration.iceServers).toHaveLength(2);
  });

  it("skips DescribeSignalingChannel when the ARN is known; the speaker's credentials come from the app", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ ...CREDS, expiration: Date.now() + 3_600_000 }), { status: 200 }));
    const config = await resolveKvsSignaling(ACCESS, { shard: 2, channelName: "earshot-x-2", channelArn: ARN }, "MASTER", undefined, {
      fetch: fetch as unknown as typeof globalThis.fetch,
      speakerCredentialsUrl: "/api/speaker/kvs-credentials?t=1",
    });
    expect(kv.commandCalls(DescribeSignalingChannelCommand)).toHaveLength(0);
    expect(kv.commandCalls(GetSignalingChannelEndpointCommand)[0]!.args[0].input.SingleMasterChannelEndpointConfiguration?.Role).toBe("MASTER");
    expect(fetch).toHaveBeenCalledWith("/api/speaker/kvs-credentials?t=1&channel=earshot-x-2", { cache: "no-store" });
    expect(config.clientConfig).toMatchObject({ role: Role.MASTER, credentials: CREDS });
  });

  it("turns AWS failures into CHANNEL_CONFIG errors", async () => {
    kv.on(GetSignalingChannelEndpointCommand).rejects(new Error("AccessDeniedException"));
    const failure = resolveKvsSignaling(ACCESS, { shard: 0, channelName: "c", channelArn: ARN }, "VIEWER", "v-1", { credentials: async () => CREDS });
    await expect(failure).rejects.toMatchObject({ name: "RtcError", code: "CHANNEL_CONFIG" });
  });
});

describe("Cognito basic flow for guests", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("GetId, then GetOpenIdToken, as unsigned JSON calls; the identity is remembered", async () => {
    const store = new Map<string, string>();
    vi.stubGlobal("localStorage", { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v), removeItem: (k: string) => store.delete(k) });
    const calls: { target: string; body: unknown; url: string }[] = [];
    const fetch = vi.fn(async (url: string, init: RequestInit) => {
      const target = (init.headers as Record<string, string>)["X-Amz-Target"]!;
      calls.push({ target, body: JSON.parse(String(init.body)), url });
      const reply = target.endsWith("GetId") ? { IdentityId: "eu-west-1:guest-1" } : { Token: "open-id-token" };
      return new Response(JSON.stringify(reply), { status: 200 });
    });
    const f = fetch as unknown as typeof globalThis.fetch;
    expect(await cognitoOpenIdToken("eu-west-1", ACCESS.identityPoolId, f)).toBe("open-id-token");
    expect(calls.map((c) => c.target)).toEqual(["AWSCognitoIdentityService.GetId", "AWSCognitoIdentityService.GetOpenIdToken"]);
    expect(calls[0]!.url).toBe("https://cognito-identity.eu-west-1.amazonaws.com/");
    expect(calls[0]!.body).toEqual({ IdentityPoolId: ACCESS.identityPoolId });
    expect(calls[1]!.body).toEqual({ IdentityId: "eu-west-1:guest-1" });
    await cognitoOpenIdToken("eu-west-1", ACCESS.identityPoolId, f);
    expect(calls.map((c) => c.target).slice(2)).toEqual(["AWSCognitoIdentityService.GetOpenIdToken"]);
  });

  it("forgets a remembered identity that Cognito refuses", async () => {
    const store = new Map<string, string>([["earshot.cognitoIdentityId", "eu-west-1:gone"]]);
    vi.stubGlobal("localStorage", { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v), removeItem: (k: string) => store.delete(k) });
    const fetch = vi.fn(async () => new Response(JSON.stringify({ __type: "ResourceNotFoundException", message: "Identity not found" }), { status: 400 }));
    await expect(cognitoOpenIdToken("eu-west-1", ACCESS.identityPoolId, fetch as unknown as typeof globalThis.fetch)).rejects.toThrow(/ResourceNotFoundException/);
    expect(store.has("earshot.cognitoIdentityId")).toBe(false);
  });

  it("reuses credentials until five minutes before they expire", async () => {
    let now = 1_000_000;
    let n = 0;
    const provider = memoizeCredentials(async () => ({ ...CREDS, accessKeyId: `K${++n}`, expiration: new Date(now + 10 * 60_000) }), () => now);
    expect((await provider()).accessKeyId).toBe("K1");
    now += 4 * 60_000;
    expect((await provider()).accessKeyId).toBe("K1");
    now += 2 * 60_000;
    expect((await provider()).accessKeyId).toBe("K2");
  });
});
