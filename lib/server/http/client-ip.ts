import { isIP } from "node:net";

/**
 * The client's address for per-IP rate limits.
 *
 * Next's route handlers cannot see the socket, so the embedded runtime copies
 * `req.socket.remoteAddress` into CLIENT_IP_HEADER on every request,
 * overwriting whatever the client sent. X-Forwarded-For is read only when
 * config.trustProxy is set (a proxy you run appends the address it saw, so the
 * right-most entry is the one to trust).
 */
export const CLIENT_IP_HEADER = "x-earshot-client-ip";

/** Shared bucket when no trustworthy address is known (stricter, never looser). */
export const UNKNOWN_IP = "unknown";

function clean(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined;
  let ip = raw.trim();
  if (ip.startsWith("[") && ip.includes("]")) ip = ip.slice(1, ip.indexOf("]")); // [v6]:port
  if (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4) ip = ip.slice(7); // IPv4-mapped IPv6
  return isIP(ip) ? ip.toLowerCase() : undefined;
}

export function clientIp(headers: Headers, options: { trustProxy: boolean }): string {
  if (options.trustProxy) {
    const forwarded = headers.get("x-forwarded-for")?.split(",").at(-1);
    const ip = clean(forwarded) ?? clean(headers.get("x-real-ip"));
    if (ip) return ip;
  }
  return clean(headers.get(CLIENT_IP_HEADER)) ?? UNKNOWN_IP;
}
