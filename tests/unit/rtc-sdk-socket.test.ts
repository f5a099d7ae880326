import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { Role, SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import { SDK_VERSION_CHECKED, watchSdkSocket } from "@/lib/client/rtc/sdk-socket";
import { SIGNALING_CLOSE_CODES } from "@/lib/core/signaling";

/**
 * Pins lib/client/rtc/sdk-socket.ts (the one reach into the KVS SDK's
 * private `websocket` field) to the SDK version it was checked against, and
 * checks the field on a real SignalingClient over a loopback WebSocket.
 */

const require = createRequire(import.meta.url);

function installedSdkVersion(): string {
  const path = require.resolve("amazon-kinesis-video-streams-webrtc/package.json");
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

let server: WebSocketServer | undefined;
afterEach(async () => {
  vi.unstubAllGlobals();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("the KVS SDK's private socket", () => {
  it("is read only for the SDK version it was checked against", () => {
    // A new SDK version: read its lib/SignalingClient.js (the `websocket` field, its listeners), then move the pin.
    expect(installedSdkVersion()).toBe(SDK_VERSION_CHECKED);
  });

  it("carries the relay's close code and raw frames (GO_AWAY) to the watcher of a real SignalingClient", async () => {
    // In the browser the SDK uses the platform WebSocket; Node 20 has none, so it gets ws's.
    vi.stubGlobal("WebSocket", WebSocket);
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
    const { port } = server.address() as AddressInfo;
    server.on("connection", (socket) => {
      socket.send(JSON.stringify({ messageType: "GO_AWAY" }));
      setTimeout(() => socket.close(SIGNALING_CLOSE_CODES.REPLACED, "replaced"), 20);
    });

    const client = new SignalingClient({
      channelARN: "arn:aws:kinesisvideo:local:000000000000:channel/earshot-pure-psalm-481-0/0",
      channelEndpoint: `ws://127.0.0.1:${port}`,
      region: "local",
      role: Role.MASTER,
      requestSigner: { getSignedURL: async (endpoint: string) => endpoint },
    });
    client.on("error", () => undefined);
    const frames: unknown[] = [];
    const closed = new Promise<number>((resolve) => {
      client.once("open", () => {
        const watched = watchSdkSocket(client, { close: resolve, message: (data) => frames.push(data) });
        expect(watched).toBe(true);
      });
    });
    client.open();
    expect(await closed).toBe(SIGNALING_CLOSE_CODES.REPLACED);
    expect(frames).toEqual([JSON.stringify({ messageType: "GO_AWAY" })]);
  });

  it("reports that there is nothing to watch before open() and after close()", () => {
    const client = new SignalingClient({
      channelARN: "arn:aws:kinesisvideo:local:000000000000:channel/earshot-pure-psalm-481-0/0",
      channelEndpoint: "ws://127.0.0.1:9",
      region: "local",
      role: Role.MASTER,
      requestSigner: { getSignedURL: async (endpoint: string) => endpoint },
    });
    expect(watchSdkSocket(client, { close: () => undefined })).toBe(false);
  });
});
