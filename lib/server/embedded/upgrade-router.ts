import { refuseUpgrade } from "./upgrade-refusal";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

/**
 * Routes the HTTP server's `upgrade` requests (security review, finding 7):
 * /ws, /kvs (and /transcribe while the local recogniser runs) to their handlers, Next's dev-server paths (`/_next/…`, hot
 * reload) to Next in dev only, and every other path is refused at once with
 * 404. Next answered unknown upgrade paths with nothing and never closed them.
 *
 * Every routed upgrade has a deadline: a socket that has had no answer (no
 * 101, no refusal) when it passes is destroyed, whatever the handler is
 * waiting for.
 */

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What a handler has to answer an upgrade within, by default. */
export const UPGRADE_TIMEOUT_MS = 10_000;
/** Next's dev server (hot reload: `/_next/webpack-hmr`) upgrades under this prefix. */
export const NEXT_DEV_UPGRADE_PREFIX = "/_next/";

export interface UpgradeRouterOptions {
  /** Exact paths (no query) and their handlers. */
  routes: Record<string, UpgradeHandler>;
  /** Next's upgrade handler, for `/_next/…` paths: set only in dev. */
  nextDev?: UpgradeHandler;
  timeoutMs?: number;
  onTimeout?(path: string): void;
}

export function createUpgradeRouter(options: UpgradeRouterOptions): UpgradeHandler {
  const timeoutMs = options.timeoutMs ?? UPGRADE_TIMEOUT_MS;
  return (req, socket, head) => {
    const path = pathOf(req.url);
    const handler =
      path !== undefined && Object.hasOwn(options.routes, path)
        ? options.routes[path]
        : path?.startsWith(NEXT_DEV_UPGRADE_PREFIX)
          ? options.nextDev
          : undefined;
    if (!handler) {
      refuseUpgrade(socket, 404, { code: "NOT_FOUND", message: "Nothing upgrades to a WebSocket here; the control channel is /ws and signaling /kvs." });
      return;
    }
    const timer = setTimeout(() => {
      // Answered (a 101, or a refusal under way) means something was written; silence means stuck.
      if (socket.destroyed || ((socket as Partial<Socket>).bytesWritten ?? 0) > 0) return;
      options.onTimeout?.(path ?? "");
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    handler(req, socket, head);
  };
}

function pathOf(url: string | undefined): string | undefined {
  if (!url?.startsWith("/") || url.startsWith("//")) return undefined;
  try {
    return new URL(url ?? "/", "http://upgrade.invalid").pathname;
  } catch {
    return undefined;
  }
}

