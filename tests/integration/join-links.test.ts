import { describe, expect, it } from "vitest";
import type { NetworkInterfaceInfo } from "node:os";
import { startEmbedded, type EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import type { Interfaces } from "../../lib/server/embedded/network";
import { createSession } from "./harness";

/**
 * Join links without EARSHOT_PUBLIC_URL, from the runtime's own choice of
 * address, with the machine's interfaces injected. The test talks to the
 * runtime over 127.0.0.1 only: the LAN addresses below are never contacted.
 */

function nic(address: string, internal = false): NetworkInterfaceInfo {
  return { address, family: "IPv4", internal, netmask: "255.255.255.0", mac: "00:00:00:00:00:00", cidr: null } as NetworkInterfaceInfo;
}

function start(host: string, interfaces: Interfaces, extra: Record<string, string> = {}): Promise<EmbeddedRuntime> {
  const { EARSHOT_PUBLIC_URL: _url, EARSHOT_PUBLIC_URL_SOURCE: _source, ...env } = process.env;
  return startEmbedded({
    web: "none",
    interfaces,
    env: { ...env, NODE_ENV: "test", EARSHOT_DATA: "memory", PORT: "0", HOST: host, EARSHOT_LOG_LEVEL: "error", ...extra } as NodeJS.ProcessEnv,
  });
}

async function linksOf(runtime: EmbeddedRuntime) {
  const { speaker, created } = await createSession(runtime);
  if (created.type !== "sessionCreated") throw new Error();
  const media = await speaker.request({ action: "getMediaChannel" });
  await speaker.close();
  return { joinUrl: created.joinUrl, signaling: media.type === "mediaChannel" ? media.signaling : undefined, sessionId: created.sessionId };
}

describe("join links without EARSHOT_PUBLIC_URL", () => {
  it("use the machine's LAN address (first non-internal IPv4) when listening on every interface", async () => {
    const runtime = await start("0.0.0.0", { lo: [nic("127.0.0.1", true)], wlan0: [nic("192.168.1.20")], docker0: [nic("172.17.0.1")] });
    try {
      expect(runtime.url).toBe(`http://192.168.1.20:${runtime.port}`);
      expect(runtime.urlSource).toBe("network");
      const { joinUrl, signaling, sessionId } = await linksOf(runtime);
      expect(joinUrl).toBe(`http://192.168.1.20:${runtime.port}/join/${sessionId}`);
      expect(signaling).toEqual({ kind: "embedded", endpoint: `ws://192.168.1.20:${runtime.port}/kvs` });
    } finally {
      await runtime.close();
    }
  });

  it("fall back to localhost, and say it is loopback only, when there is no LAN address", async () => {
    const runtime = await start("0.0.0.0", { lo: [nic("127.0.0.1", true)] });
    try {
      expect(runtime.url).toBe(`http://localhost:${runtime.port}`);
      expect(runtime.urlSource).toBe("loopback");
      expect(runtime.config.publicUrlSource).toBe("loopback");
    } finally {
      await runtime.close();
    }
  });

  it("keep EARSHOT_PUBLIC_URL when it is set", async () => {
    const runtime = await start("127.0.0.1", { wlan0: [nic("192.168.1.20")] }, { EARSHOT_PUBLIC_URL: "https://earshot.example.org/" });
    try {
      expect(runtime.url).toBe("https://earshot.example.org");
      expect(runtime.urlSource).toBe("configured");
      expect((await linksOf(runtime)).joinUrl).toMatch(/^https:\/\/earshot\.example\.org\/join\//);
    } finally {
      await runtime.close();
    }
  });
});
