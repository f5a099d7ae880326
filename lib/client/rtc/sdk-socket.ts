import type { SignalingClient } from "amazon-kinesis-video-streams-webrtc";

/**
 * The one place that reaches into the KVS SDK's private state: the
 * SignalingClient's `websocket` field (amazon-kinesis-video-streams-webrtc,
 * lib/SignalingClient.js: set in open(), cleared on close). The SDK neither
 * passes a close code on (the relay's 4001 "replaced by a newer master")
 * nor surfaces GO_AWAY; its socket does both.
 *
 * tests/unit/rtc-sdk-socket.test.ts pins this to SDK_VERSION_CHECKED with a
 * real SignalingClient against a loopback ws server: it fails when the
 * installed SDK is another version or the field is gone. Check the SDK's
 * source again before moving the pin.
 */

/** The SDK version whose private `websocket` field this was checked against. */
export const SDK_VERSION_CHECKED = "2.9.0";

export interface SdkSocketHandlers {
  /** The socket closed with this code (runs after the SDK's own "close" event). */
  close?: (code: number) => void;
  /** A raw frame, before or beside the SDK's parsing (GO_AWAY, which the SDK ignores). */
  message?: (data: unknown) => void;
}

interface PrivateSocket {
  addEventListener?(type: "close", fn: (event: { code: number }) => void): void;
  addEventListener?(type: "message", fn: (event: { data: unknown }) => void): void;
}

/**
 * Listens on the client's socket. Call it after the client's "open" (the SDK
 * creates the socket inside open()). Returns false when there is no socket
 * to listen on (closed already, or the SDK changed); the caller then does
 * without close codes and GO_AWAY.
 */
export function watchSdkSocket(client: SignalingClient, handlers: SdkSocketHandlers): boolean {
  const socket = (client as unknown as { websocket?: PrivateSocket | null }).websocket;
  if (!socket || typeof socket.addEventListener !== "function") return false;
  const { close, message } = handlers;
  if (close) socket.addEventListener("close", (event) => close(event.code));
  if (message) socket.addEventListener("message", (event) => message(event.data));
  return true;
}
