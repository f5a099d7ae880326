import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { isIP } from "node:net";
import { isLoopbackHost } from "../../core/hosts";

/**
 * Which address other devices (the audience's phones) can open, when
 * EARSHOT_PUBLIC_URL is not set: the embedded runtime builds join links, QR
 * codes and its start-up banner from it.
 */

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The machine's LAN address: the first non-internal IPv4 address, in interface order. */
export function lanAddress(interfaces: Interfaces = networkInterfaces()): string | undefined {
  for (const addresses of Object.values(interfaces)) {
    for (const a of addresses ?? []) {
      // Node 18.0-18.3 reported the family as a number.
      const family: unknown = a.family;
      if ((family === "IPv4" || family === 4) && !a.internal) return a.address;
    }
  }
  return undefined;
}

export interface ReachableUrl {
  url: string;
  /** "network": other devices can open it; "loopback": only this machine can (no LAN address, or HOST is loopback). */
  source: "network" | "loopback";
}

/**
 * The base URL for join links: the address the server listens on when that
 * is one specific, non-loopback address; else (listening on every interface)
 * the LAN address; else localhost.
 */
export function reachableUrl(port: number, listenHost: string, interfaces?: Interfaces): ReachableUrl {
  const loopback = { url: `http://localhost:${port}`, source: "loopback" } as const;
  if (isLoopbackHost(listenHost)) return loopback;
  if (!isWildcard(listenHost)) return { url: localUrl(port, listenHost), source: "network" };
  const lan = lanAddress(interfaces);
  return lan ? { url: `http://${lan}:${port}`, source: "network" } : loopback;
}

function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** Where this machine's own browser opens the server. */
export function localUrl(port: number, listenHost: string): string {
  if (isWildcard(listenHost) || isLoopbackHost(listenHost)) return `http://localhost:${port}`;
  return `http://${isIP(listenHost) === 6 ? `[${listenHost}]` : listenHost}:${port}`;
}

/** The start-up banner's address lines, as Next and Vite print them (`Local:`, `Network:`). */
export function addressLines(port: number, listenHost: string, publicUrl: string, source: "configured" | "network" | "loopback"): string[] {
  const local = `  Local:    ${localUrl(port, listenHost)}`;
  if (source === "configured") return [local, `  Public:   ${publicUrl}   (EARSHOT_PUBLIC_URL: join links and QR codes)`];
  if (source === "network") return [local, `  Network:  ${publicUrl}   (join links and QR codes; phones on this network open it)`];
  const why = isLoopbackHost(listenHost) ? `HOST=${listenHost} listens on this computer only` : "no network address found";
  return [local, `  Network:  none (${why}): only this computer can open the join links; set HOST=0.0.0.0 or EARSHOT_PUBLIC_URL`];
}
