import { describe, expect, it } from "vitest";
import { Role, SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import {
  createSignaling,
  embeddedClientConfig,
  embeddedRequestSigner,
  resolveEmbeddedEndpoint,
} from "@/lib/client/rtc/signaling";
import { RtcError } from "@/lib/client/rtc/errors";
import { grant } from "./rtc-fakes";

const access = { kind: "embedded", endpoint: "ws://localhost:3000/kvs" } as const;
const page = (href: string) => {
  const u = new URL(href);
  return { protocol: u.protocol, host: u.host, hostname: u.hostname };
};

describe("embedded signaling", () => {
  it("signs the SDK's URL with the grant and nothing else", async () => {
    const signer = embeddedRequestSigner("g.r.ant");
    const url = await signer.getSignedURL("ws://127.0.0.1:3000/kvs", { "X-Amz-ChannelARN": "arn:x", "X-Amz-ClientId": "v-1" });
    const parsed = new URL(url);
    expect(parsed.origin + parsed.pathname).toBe("ws://127.0.0.1:3000/kvs");
    expect(Object.fromEntries(parsed.searchParams)).toEqual({ "X-Amz-ChannelARN": "arn:x", "X-Amz-ClientId": "v-1", "X-Earshot-Grant": "g.r.ant" });
  });

  it("builds MASTER and VIEWER options from the grant message", () => {
    const g = grant(1);
    const master = embeddedClientConfig(access, g, "MASTER");
    expect(master).toMatchObject({ channelARN: g.channelArn, channelEndpoint: "ws://localhost:3000/kvs", role: Role.MASTER, clientId: undefined });
    const viewer = embeddedClientConfig(access, g, "VIEWER", "v-9");
    expect(viewer).toMatchObject({ role: Role.VIEWER, clientId: "v-9" });
    expect(viewer.requestSigner).toBeDefined();
    expect(() => embeddedClientConfig(access, { ...g, grant: undefined }, "MASTER")).toThrow(RtcError);
    expect(() => embeddedClientConfig(access, g, "VIEWER")).toThrow(/client id/);
  });

  it("reaches the relay under the page's host when the server named a loopback host", () => {
    expect(resolveEmbeddedEndpoint("ws://localhost:3000/kvs", page("http://localhost:3000/join/x"))).toBe("ws://localhost:3000/kvs");
    expect(resolveEmbeddedEndpoint("ws://localhost:3000/kvs", page("http://192.168.1.20:3000/join/x"))).toBe("ws://192.168.1.20:3000/kvs");
    expect(resolveEmbeddedEndpoint("ws://127.0.0.1:3000/kvs", page("https://earshot.example/join/x"))).toBe("wss://earshot.example/kvs");
    expect(resolveEmbeddedEndpoint("ws://relay.example/kvs", page("https://earshot.example/"))).toBe("wss://relay.example/kvs");
    expect(resolveEmbeddedEndpoint("/kvs", page("https://earshot.example/"))).toBe("wss://earshot.example/kvs");
    expect(resolveEmbeddedEndpoint("http://relay.example/kvs")).toBe("ws://relay.example/kvs");
    expect(() => resolveEmbeddedEndpoint("ftp://relay.example/kvs")).toThrow(RtcError);
    expect(() => resolveEmbeddedEndpoint("not a url")).toThrow(RtcError);
  });

  it("the factory gives an SDK SignalingClient and no ICE servers", async () => {
    const setup = await createSignaling({ access, channel: grant(0), role: "VIEWER", clientId: "v-1" });
    expect(setup.client).toBeInstanceOf(SignalingClient);
    expect(setup.rtcConfiguration.iceServers).toEqual([]);
  });
});

describe("microphone errors", () => {
  it("maps getUserMedia's exceptions to codes and sentences that say what to do", () => {
    const err = (name: string) => Object.assign(new Error("x"), { name });
    expect(RtcError.fromGetUserMedia(err("NotAllowedError")).code).toBe("MIC_PERMISSION_DENIED");
    expect(RtcError.fromGetUserMedia(err("SecurityError")).code).toBe("MIC_PERMISSION_DENIED");
    expect(RtcError.fromGetUserMedia(err("NotFoundError")).code).toBe("MIC_NOT_FOUND");
    expect(RtcError.fromGetUserMedia(err("OverconstrainedError")).code).toBe("MIC_NOT_FOUND");
    expect(RtcError.fromGetUserMedia(err("NotReadableError")).code).toBe("MIC_UNAVAILABLE");
    expect(RtcError.fromGetUserMedia("weird").code).toBe("MIC_UNAVAILABLE");
    expect(RtcError.fromGetUserMedia(err("NotAllowedError")).message).toMatch(/Allow the microphone/);
    expect(RtcError.fromGetUserMedia(err("NotFoundError")).cause).toBeInstanceOf(Error);
  });
});
