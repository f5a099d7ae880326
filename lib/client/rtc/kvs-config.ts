import { Role } from "amazon-kinesis-video-streams-webrtc";
import type { SignalingClientConfig } from "amazon-kinesis-video-streams-webrtc/lib/SignalingClient";
import type { ResourceEndpointListItem } from "@aws-sdk/client-kinesis-video";
import type { IceServer } from "@aws-sdk/client-kinesis-video-signaling";
import { RtcError } from "./errors";

/**
 * Pure mapping from what the Kinesis Video Streams APIs answer
 * (GetSignalingChannelEndpoint, GetIceServerConfig) to the SDK's
 * SignalingClient options and the RTCConfiguration. kvs-cloud.ts makes the
 * calls; this file is the seam the unit tests check (tests/unit/rtc-kvs.test.ts).
 */

export type SignalingRole = "MASTER" | "VIEWER";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface KvsSignalingInputs {
  region: string;
  role: SignalingRole;
  /** VIEWER only. */
  clientId?: string;
  channelArn: string;
  /** GetSignalingChannelEndpoint → ResourceEndpointList. */
  endpoints: readonly ResourceEndpointListItem[];
  /** GetIceServerConfig → IceServerList (TURN). */
  iceServers: readonly IceServer[];
  credentials: AwsCredentials;
}

export interface KvsSignalingConfig {
  clientConfig: SignalingClientConfig;
  rtcConfiguration: RTCConfiguration;
}

/** KVS's STUN server for a region (`.amazonaws.com.cn` in the China partition). */
export function kvsStunUrl(region: string): string {
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `stun:stun.kinesisvideo.${region}.${suffix}:443`;
}

/** The endpoint of one protocol from GetSignalingChannelEndpoint; throws CHANNEL_CONFIG when absent. */
export function endpointFor(endpoints: readonly ResourceEndpointListItem[], protocol: "WSS" | "HTTPS" | "WEBRTC"): string {
  const found = endpoints.find((e) => e.Protocol === protocol && typeof e.ResourceEndpoint === "string" && e.ResourceEndpoint !== "");
  if (!found?.ResourceEndpoint) {
    throw new RtcError("CHANNEL_CONFIG", `GetSignalingChannelEndpoint returned no ${protocol} endpoint.`);
  }
  return found.ResourceEndpoint;
}

/** KVS's STUN server first, then every TURN server GetIceServerConfig handed out (with its short-lived credentials). */
export function kvsIceServers(region: string, iceServers: readonly IceServer[]): RTCIceServer[] {
  const servers: RTCIceServer[] = [{ urls: kvsStunUrl(region) }];
  for (const s of iceServers) {
    const urls = (s.Uris ?? []).filter((u) => typeof u === "string" && u !== "");
    if (urls.length === 0) continue;
    servers.push({ urls, username: s.Username, credential: s.Password });
  }
  return servers;
}

export function kvsSignalingConfig(inputs: KvsSignalingInputs): KvsSignalingConfig {
  if (inputs.role === "VIEWER" && !inputs.clientId) throw new RtcError("CHANNEL_CONFIG", "A viewer needs its client id.");
  return {
    clientConfig: {
      channelARN: inputs.channelArn,
      channelEndpoint: endpointFor(inputs.endpoints, "WSS"),
      region: inputs.region,
      role: inputs.role === "MASTER" ? Role.MASTER : Role.VIEWER,
      clientId: inputs.role === "VIEWER" ? inputs.clientId : undefined,
      credentials: {
        accessKeyId: inputs.credentials.accessKeyId,
        secretAccessKey: inputs.credentials.secretAccessKey,
        sessionToken: inputs.credentials.sessionToken,
      },
    },
    rtcConfiguration: { iceServers: kvsIceServers(inputs.region, inputs.iceServers), bundlePolicy: "max-bundle" },
  };
}
