/**
 * Where the browser's control channel connects. A configured `wsUrl` (the
 * API Gateway stage URL in the cloud, or any ws:// / wss:// URL) wins;
 * without one the page's own host serves it at /ws (the embedded runtime).
 */

export const DEFAULT_CONTROL_PATH = "/ws";

export type ControlQuery = Record<string, string | number | undefined | null>;

export interface PageLocation {
  /** `http:` or `https:` */
  protocol: string;
  /** host[:port] */
  host: string;
}

/** The base control URL, without query. Throws on a URL that is not ws:// or wss://. */
export function controlBaseUrl(wsUrl: string | undefined, page: PageLocation): string {
  const secure = page.protocol === "https:";
  const origin = `${secure ? "wss" : "ws"}://${page.host}`;
  const configured = wsUrl?.trim();
  if (!configured) return `${origin}${DEFAULT_CONTROL_PATH}`;
  // A path alone ("/ws") is relative to the page's host.
  const url = configured.startsWith("/") ? new URL(configured, `${secure ? "https" : "http"}://${page.host}`) : new URL(configured);
  if (configured.startsWith("/")) url.protocol = secure ? "wss:" : "ws:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error(`The control URL must be ws:// or wss://, got ${url.protocol}`);
  url.hash = "";
  return url.toString();
}

/** Adds query parameters (skipping empty ones) to a URL, keeping what it already has. */
export function withQuery(base: string, query: ControlQuery = {}): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** The full control URL for this page. */
export function controlUrl(wsUrl: string | undefined, query: ControlQuery = {}, page: PageLocation = window.location): string {
  return withQuery(controlBaseUrl(wsUrl, page), query);
}
