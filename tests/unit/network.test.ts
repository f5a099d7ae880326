import { describe, expect, it } from "vitest";
import type { NetworkInterfaceInfo } from "node:os";
import { addressLines, lanAddress, localUrl, reachableUrl, type Interfaces } from "@/lib/server/embedded/network";
import { onlyThisMachine, shareableJoinUrl } from "@/components/speaker/share-url";
import { isLoopbackHost } from "@/lib/core/hosts";

/** Interfaces as os.networkInterfaces() reports them; only the fields the choice reads matter. */
function nic(address: string, family: "IPv4" | "IPv6", internal = false): NetworkInterfaceInfo {
  return { address, family, internal, netmask: "", mac: "00:00:00:00:00:00", cidr: null } as NetworkInterfaceInfo;
}

const LOOPBACK_ONLY: Interfaces = { lo: [nic("127.0.0.1", "IPv4", true), nic("::1", "IPv6", true)] };
const VENUE: Interfaces = {
  lo: [nic("127.0.0.1", "IPv4", true)],
  wlan0: [nic("fe80::1c2d:3e4f:5a6b:7c8d", "IPv6"), nic("192.168.1.20", "IPv4")],
  docker0: [nic("172.17.0.1", "IPv4")],
};

describe("the address other devices can reach", () => {
  it("is the first non-internal IPv4 address, in interface order", () => {
    expect(lanAddress(VENUE)).toBe("192.168.1.20");
    expect(lanAddress({ eth0: [nic("10.0.0.5", "IPv4")], wlan0: [nic("192.168.1.20", "IPv4")] })).toBe("10.0.0.5");
    expect(lanAddress(LOOPBACK_ONLY)).toBeUndefined();
    expect(lanAddress({ wlan0: [nic("2001:db8::20", "IPv6")] })).toBeUndefined();
    expect(lanAddress({})).toBeUndefined();
  });

  it("listening on every interface: the LAN address, else localhost (loopback only)", () => {
    expect(reachableUrl(3000, "0.0.0.0", VENUE)).toEqual({ url: "http://192.168.1.20:3000", source: "network" });
    expect(reachableUrl(3000, "::", VENUE)).toEqual({ url: "http://192.168.1.20:3000", source: "network" });
    expect(reachableUrl(3000, "0.0.0.0", LOOPBACK_ONLY)).toEqual({ url: "http://localhost:3000", source: "loopback" });
  });

  it("listening on loopback: localhost, whatever the interfaces; on one address: that address", () => {
    expect(reachableUrl(3000, "127.0.0.1", VENUE)).toEqual({ url: "http://localhost:3000", source: "loopback" });
    expect(reachableUrl(3000, "localhost", VENUE)).toEqual({ url: "http://localhost:3000", source: "loopback" });
    expect(reachableUrl(3000, "::1", VENUE)).toEqual({ url: "http://localhost:3000", source: "loopback" });
    expect(reachableUrl(8080, "192.168.1.20", LOOPBACK_ONLY)).toEqual({ url: "http://192.168.1.20:8080", source: "network" });
    expect(reachableUrl(8080, "fd00::20", LOOPBACK_ONLY)).toEqual({ url: "http://[fd00::20]:8080", source: "network" });
    expect(localUrl(8080, "0.0.0.0")).toBe("http://localhost:8080");
  });

  it("prints Local and Network lines as Next and Vite do, and says when only this computer can open the links", () => {
    expect(addressLines(3000, "0.0.0.0", "http://192.168.1.20:3000", "network")).toEqual([
      "  Local:    http://localhost:3000",
      expect.stringMatching(/^ {2}Network: {2}http:\/\/192\.168\.1\.20:3000 /),
    ]);
    expect(addressLines(3000, "127.0.0.1", "http://localhost:3000", "loopback")[1]).toMatch(/Network: {2}none \(HOST=127\.0\.0\.1 .*only this computer/);
    expect(addressLines(3000, "0.0.0.0", "http://localhost:3000", "loopback")[1]).toMatch(/none \(no network address found\)/);
    expect(addressLines(3000, "0.0.0.0", "https://earshot.example.org", "configured")[1]).toMatch(/Public: {3}https:\/\/earshot\.example\.org/);
  });

  it("knows loopback hosts", () => {
    for (const h of ["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "LOCALHOST"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["192.168.1.20", "laptop.local", "earshot.example.org", "10.0.0.1", "[fd00::1]"]) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe("the speaker page's join link", () => {
  const path = "/join/quiet-harbor-042";
  it("uses the host the speaker's browser used when it is not loopback, over the server's own choice", () => {
    expect(shareableJoinUrl(`http://192.168.1.20:3000${path}`, "http://laptop.local:3000", "network")).toBe(`http://laptop.local:3000${path}`);
    expect(shareableJoinUrl(`http://localhost:3000${path}`, "http://192.168.1.20:3000", "loopback")).toBe(`http://192.168.1.20:3000${path}`);
  });

  it("keeps the server's LAN address when the speaker's browser is on localhost", () => {
    expect(shareableJoinUrl(`http://192.168.1.20:3000${path}`, "http://localhost:3000", "network")).toBe(`http://192.168.1.20:3000${path}`);
    expect(shareableJoinUrl(`http://192.168.1.20:3000${path}`, "http://127.0.0.1:3000", "network")).toBe(`http://192.168.1.20:3000${path}`);
  });

  it("keeps a configured EARSHOT_PUBLIC_URL, unless it is localhost and the page was opened by another name", () => {
    expect(shareableJoinUrl(`https://earshot.example.org${path}`, "http://192.168.1.20:3000", "configured")).toBe(`https://earshot.example.org${path}`);
    expect(shareableJoinUrl(`http://localhost:3000${path}`, "http://192.168.1.20:3000", "configured")).toBe(`http://192.168.1.20:3000${path}`);
  });

  it("flags a link only this machine can open (the page says so next to the QR code)", () => {
    expect(onlyThisMachine(shareableJoinUrl(`http://localhost:3000${path}`, "http://localhost:3000", "loopback"))).toBe(true);
    expect(onlyThisMachine(`http://192.168.1.20:3000${path}`)).toBe(false);
    expect(onlyThisMachine("not a url")).toBe(false);
  });
});
