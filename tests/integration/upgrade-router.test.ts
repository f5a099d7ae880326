/**
 * Security review, finding 7: upgrades to unknown paths were handed to Next,
 * which neither answered nor closed them (20 of 20 still open after 130 s).
 * Real HTTP server, real sockets; Next's upgrade handler is stood in for by
 * one that does what Next did with them: nothing.
 */
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { createUpgradeRouter, type UpgradeRouterOptions } from "@/lib/server/embedded/upgrade-router";
import { startTestRuntime } from "./harness";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(options: UpgradeRouterOptions): Promise<number> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", createUpgradeRouter(options));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** Sends a raw upgrade request; resolves with what came back before the socket closed. */
function rawUpgrade(port: number, path: string): Promise<{ response: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
    });
    let response = "";
    socket.on("data", (chunk) => (response += chunk.toString()));
    socket.on("error", reject);
    socket.on("close", () => resolve({ response }));
  });
}

/** Does what Next did with an upgrade it has no route for: nothing, forever. */
const silent = () => undefined;

describe("upgrade routing (security review, finding 7)", () => {
  it("refuses unknown paths at once with 404 and closes them, instead of handing them to Next", async () => {
    const port = await serve({ routes: { "/ws": silent }, nextDev: silent, timeoutMs: 60_000 });
    for (const path of ["/", "/anything", "/api/health", "/ws/extra", "//ws", "/kvs"]) {
      const { response } = await rawUpgrade(port, path);
      expect(response, path).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
      expect(response).toContain('"code":"NOT_FOUND"');
    }
  });

  it("still hands Next's dev paths (hot reload) to Next in dev, and to nobody otherwise", async () => {
    const seen: string[] = [];
    const hmr = new WebSocketServer({ noServer: true });
    cleanups.push(() => new Promise<void>((resolve) => hmr.close(() => resolve())));
    const devPort = await serve({
      routes: {},
      nextDev: (req, socket, head) => {
        seen.push(req.url ?? "");
        hmr.handleUpgrade(req, socket, head, (ws) => ws.send("hmr"));
      },
    });
    const ws = new WebSocket(`ws://127.0.0.1:${devPort}/_next/webpack-hmr?id=1`);
    cleanups.push(() => ws.terminate());
    const [message] = await once(ws, "message");
    expect(String(message)).toBe("hmr");
    expect(seen).toEqual(["/_next/webpack-hmr?id=1"]);

    const prodPort = await serve({ routes: {} });
    expect((await rawUpgrade(prodPort, "/_next/webpack-hmr")).response).toMatch(/^HTTP\/1\.1 404 /);
  });

  it("closes a routed upgrade that gets no answer within the deadline", async () => {
    const timedOut: string[] = [];
    const port = await serve({ routes: { "/ws": silent }, timeoutMs: 200, onTimeout: (path) => timedOut.push(path) });
    const { response } = await rawUpgrade(port, "/ws?sessionId=x");
    expect(response).toBe("");
    expect(timedOut).toEqual(["/ws"]);
  });

  it("leaves an answered upgrade alone after the deadline", async () => {
    const wss = new WebSocketServer({ noServer: true });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const port = await serve({
      routes: { "/echo": (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (m) => ws.send(String(m)))) },
      timeoutMs: 50,
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    cleanups.push(() => ws.terminate());
    await once(ws, "open");
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the 50 ms deadline
    ws.send("still here");
    const [message] = await once(ws, "message");
    expect(String(message)).toBe("still here");
  });

  it("is what the embedded runtime uses: an unknown path gets 404, /ws still upgrades", async () => {
    const runtime = await startTestRuntime();
    cleanups.push(() => runtime.close());
    expect((await rawUpgrade(runtime.port, "/not-a-route")).response).toMatch(/^HTTP\/1\.1 404 /);
    const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}/ws?sessionId=`);
    ws.on("error", () => undefined); // the refusal, seen below
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, http.IncomingMessage];
    expect(res.statusCode).toBe(400); // answered by the gateway ($connect without a session id or token)
  });
});
