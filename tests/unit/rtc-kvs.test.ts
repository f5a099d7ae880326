import { beforeEach, describe, expect, it, vi } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  DescribeSignalingChannelCommand,
  GetSignalingChannelEndpointCommand,
  KinesisVideoClient,
} from "@aws-sdk/client-kinesis-video";
import { GetIceServerConfigCommand, KinesisVideoSignalingClient } from "@aws-sdk/client-kinesis-video-signaling";
import { Role } from "amazon-kinesis-video-streams-webrtc";
import { endpointFor, kvsIceServers, kvsSignalingConfig, kvsStunUrl } from "@/lib/client/rtc/kvs-config";
import { memoizeCredentials, resolveKvsSignaling } from "@/lib/client/rtc/kvs-cloud";
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
/** A listener's access: the control plane hands out credentials scoped to its channel (security review, finding 8). */
const VIEWER_CREDS = { accessKeyId: "ASIAVIEWER", secretAccessKey: "viewer-secret", sessionToken: "viewer-token", expiration: 1_900_000_000_000 };
const ACCESS = { kind: "kvs", region: "eu-west-1", credentials: VIEWER_CREDS } as const;
/** The MASTER's access names no credentials: the speaker's browser asks the app. */
const MASTER_ACCESS = { kind: "kvs", region: "eu-west-1" } as const;

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
    const config = await resolveKvsSignaling(MASTER_ACCESS, { shard: 2, channelName: "earshot-x-2", channelArn: ARN }, "MASTER", undefined, {
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

describe("listener credentials", () => {
  it("a VIEWER signs every KVS call with the credentials the control plane gave it, and fetches none", async () => {
    const kv = mockClient(KinesisVideoClient);
    const kvs = mockClient(KinesisVideoSignalingClient);
    kv.on(GetSignalingChannelEndpointCommand).resolves({ ResourceEndpointList: ENDPOINTS });
    kvs.on(GetIceServerConfigCommand).resolves({ IceServerList: TURN });
    const fetch = vi.fn();
    const config = await resolveKvsSignaling(ACCESS, { shard: 0, channelName: "earshot-pure-psalm-481-0", channelArn: ARN }, "VIEWER", "v-1", {
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    expect(fetch).not.toHaveBeenCalled();
    const { expiration: _expiration, ...signing } = VIEWER_CREDS;
    expect(config.clientConfig).toMatchObject({ role: Role.VIEWER, clientId: "v-1", credentials: signing });
    const used = await kv.commandCalls(GetSignalingChannelEndpointCommand)[0]!.thisValue.config.credentials();
    expect(used).toMatchObject({ ...signing, expiration: new Date(VIEWER_CREDS.expiration) });
    kv.restore();
    kvs.restore();
  });

  it("refuses a VIEWER access without credentials (the guest identity flow is gone)", async () => {
    await expect(resolveKvsSignaling(MASTER_ACCESS, { shard: 0, channelName: "c", channelArn: ARN }, "VIEWER", "v-1")).rejects.toMatchObject({
      name: "RtcError",
      code: "CHANNEL_CONFIG",
    });
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
