import type { SignalingClient } from "amazon-kinesis-video-streams-webrtc";
import type { StatusResponse } from "amazon-kinesis-video-streams-webrtc/lib/SignalingClient";
import { RtcError } from "./errors";

/**
 * Small helpers over the SDK's SignalingClient (an EventEmitter): open it as
 * a promise, and always have an "error" listener (an EventEmitter without one
 * throws on "error").
 */

export interface SignalingStatus {
  correlationId: string;
  success: boolean;
  errorType?: string;
  statusCode?: string;
  description?: string;
}

/** The SDK types every field of StatusResponse as a string literal; this reads what the wire carries. */
export function readStatus(value: StatusResponse | Record<string, unknown> | undefined): SignalingStatus | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.correlationId !== "string") return undefined;
  return {
    correlationId: v.correlationId,
    success: v.success === true || v.success === "true",
    errorType: typeof v.errorType === "string" ? v.errorType : undefined,
    statusCode: typeof v.statusCode === "string" ? v.statusCode : typeof v.statusCode === "number" ? String(v.statusCode) : undefined,
    description: typeof v.description === "string" ? v.description : undefined,
  };
}

/**
 * Opens the client; resolves on "open", rejects with SIGNALING_FAILED on an
 * error or close first (a refused connect: rate limit, full channel, expired
 * grant) or when `timeoutMs` passes.
 */
export function openSignaling(client: SignalingClient, timeoutMs = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: RtcError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.off("open", onOpen);
      client.off("error", onError);
      client.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onOpen = () => finish();
    const onError = (cause: unknown) => finish(new RtcError("SIGNALING_FAILED", undefined, { cause }));
    const onClose = () => finish(new RtcError("SIGNALING_FAILED", "The audio relay closed the connection."));
    const timer = setTimeout(() => finish(new RtcError("SIGNALING_FAILED", "The audio relay did not answer in time.")), timeoutMs);
    client.on("open", onOpen);
    client.on("error", onError);
    client.on("close", onClose);
    try {
      client.open();
    } catch (cause) {
      finish(new RtcError("SIGNALING_FAILED", undefined, { cause }));
    }
  });
}

/** Closes the client and drops its listeners; never throws. */
export function closeSignaling(client: SignalingClient | undefined): void {
  if (!client) return;
  try {
    client.removeAllListeners();
    client.on("error", () => undefined);
    client.close();
  } catch {
    // already closed
  }
}

let correlation = 0;
/** A KVS correlation id: `[a-zA-Z0-9_.-]{1,256}`. */
export function nextCorrelationId(prefix: string): string {
  correlation = (correlation + 1) % 1_000_000_000;
  return `${prefix}.${Date.now().toString(36)}.${correlation}`;
}
