import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER, PHASE_PRODUCTION_BUILD } from "next/constants";

/**
 * Security headers for every route. Earshot sets no nonces, so Next's inline
 * bootstrap scripts need 'unsafe-inline'; dev mode (React's debugging) also
 * needs 'unsafe-eval'.
 *
 * connect-src: the page's own origin, the WebSocket control channel and the
 * signaling relay (ws:/wss:, which may live on another host such as an API
 * Gateway stage), and in cloud mode the AWS endpoints the browser's KVS and
 * Cognito Identity clients call over HTTPS. Audio plays from blob: and
 * mediastream: URLs; the QR code is a data: image.
 *
 * Read at build time: EARSHOT_MODE decides whether the AWS endpoints are allowed.
 */
function contentSecurityPolicy(dev: boolean): string {
  const cloud = process.env.EARSHOT_MODE === "cloud";
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-inline'", ...(dev ? ["'unsafe-eval'"] : [])],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'", "ws:", "wss:", ...(cloud ? ["https://*.amazonaws.com"] : [])],
    "media-src": ["'self'", "blob:", "mediastream:"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(" ")}`)
    .join("; ");
}

/**
 * The listener page (/join/{id}) is server-rendered HTML with its own small
 * script and CSS, not React (docs/BENCHMARKS.md): scripts/build-listener.mjs
 * builds them before every `next build` and dev server, whoever starts it.
 * Once per process tree (Next loads this file again in its workers).
 */
async function buildListenerAssets(): Promise<void> {
  if (process.env.EARSHOT_LISTENER_ASSETS_BUILT) return;
  const { buildListener } = await import("./scripts/build-listener.mjs");
  await buildListener();
  process.env.EARSHOT_LISTENER_ASSETS_BUILT = "1";
}

export default async function config(phase: string): Promise<NextConfig> {
  const dev = phase === PHASE_DEVELOPMENT_SERVER;
  if (dev || phase === PHASE_PRODUCTION_BUILD) await buildListenerAssets();
  return {
    reactStrictMode: true,
    poweredByHeader: false,
    // Node-only packages of the embedded runtime; never bundled into route handlers.
    serverExternalPackages: ["dynalite", "ws"],
    async headers() {
      return [
        {
          // Served over https (the embedded runtime passes X-Forwarded-Proto only from a trusted
          // proxy, and sets "http" otherwise; Vercel and Amplify set it): browsers keep to https.
          source: "/:path*",
          has: [{ type: "header", key: "x-forwarded-proto", value: "https" }],
          headers: [{ key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }],
        },
        {
          source: "/:path*",
          headers: [
            { key: "Content-Security-Policy", value: contentSecurityPolicy(dev) },
            { key: "X-Content-Type-Options", value: "nosniff" },
            { key: "Referrer-Policy", value: "no-referrer" },
            { key: "Permissions-Policy", value: "microphone=(self), camera=(), geolocation=(), payment=(), usb=()" },
            { key: "X-Frame-Options", value: "DENY" },
          ],
        },
      ];
    },
  };
}
