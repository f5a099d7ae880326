import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

/**
 * Answers a WebSocket upgrade with an HTTP error and closes the socket: the
 * one way every upgrade endpoint of the embedded runtime (/ws, /kvs,
 * /transcribe, unknown paths) refuses, with `{ error: { code, message } }` as
 * API Gateway's `$connect` does.
 */
export function refuseUpgrade(socket: Duplex, status: number, error: { code: string; message: string }, retryAfter?: number): void {
  socket.on("error", () => undefined);
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
    "Connection: close",
    "Content-Type: application/json; charset=utf-8",
    "Cache-Control: no-store",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(retryAfter !== undefined ? [`Retry-After: ${retryAfter}`] : []),
  ];
  socket.once("finish", () => socket.destroy());
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
}
