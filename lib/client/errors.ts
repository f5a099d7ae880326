import type { ErrorCode } from "../core/errors";
import type { ServerMessage } from "../core/protocol";

/**
 * The browser's errors: one base class, `ClientError`, with a `kind` (which
 * part of the client failed) and a `code` (what failed). Views tell errors
 * apart by these fields, never by class; `describeError`
 * (describe-error.ts) turns any of them into a sentence for people.
 *
 * - `control`: the control channel (ControlChannelError, below): the
 *   server's closed set of codes (lib/core/errors.ts) plus the client's own.
 * - `media`: microphone, signaling and peer connections (rtc/errors.ts RtcError).
 * - `capture`: PCM capture for recognition (media/pcm-capture.ts PcmCaptureError).
 * - `recognizer`: the Transcribe-protocol stream (speech/transcribe-client.ts TranscribeStreamError).
 */
export type ClientErrorKind = "control" | "media" | "capture" | "recognizer";

export class ClientError<C extends string = string> extends Error {
  readonly kind: ClientErrorKind;
  readonly code: C;

  constructor(kind: ClientErrorKind, code: C, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ClientError";
    this.kind = kind;
    this.code = code;
  }
}

/** True for a ClientError, also one made by another copy of this module (a chunk loaded twice). */
export function isClientError(error: unknown): error is ClientError {
  if (error instanceof ClientError) return true;
  if (!(error instanceof Error)) return false;
  const e = error as Error & { kind?: unknown; code?: unknown };
  return typeof e.kind === "string" && typeof e.code === "string";
}

/** Codes that mean the session is over (ended, or gone from the store). */
const SESSION_GONE_CODES: ReadonlySet<string> = new Set<ErrorCode>(["SESSION_INACTIVE", "SESSION_NOT_FOUND"]);

/** The one session-gone check: the server answered that the session has ended or no longer exists. */
export function isSessionGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && SESSION_GONE_CODES.has(code);
}

// ---------------------------------------------------------------------------
// The control channel's errors

/** Codes raised by the client itself, beside the server's closed set. */
export type ControlErrorCode = "NOT_CONNECTED" | "CONNECTION_CLOSED" | "TIMEOUT" | "CONNECT_FAILED";

export class ControlChannelError extends ClientError<ErrorCode | ControlErrorCode> {
  /** The action of the request that failed, when known. */
  readonly action?: string;

  constructor(code: ErrorCode | ControlErrorCode, message: string, options: { cause?: unknown; action?: string } = {}) {
    super("control", code, message, { cause: options.cause });
    this.name = "ControlChannelError";
    this.action = options.action;
  }

  static notConnected(): ControlChannelError {
    return new ControlChannelError("NOT_CONNECTED", "The control channel is not connected.");
  }

  static closed(action?: string): ControlChannelError {
    return new ControlChannelError("CONNECTION_CLOSED", "The connection closed before the server answered.", { action });
  }

  static timeout(action: string, ms: number): ControlChannelError {
    return new ControlChannelError("TIMEOUT", `No answer to ${action} within ${Math.round(ms / 1000)} s.`, { action });
  }

  static connectFailed(cause?: unknown): ControlChannelError {
    return new ControlChannelError("CONNECT_FAILED", "Could not connect to the server.", { cause });
  }

  static fromServer(message: Extract<ServerMessage, { type: "error" }>): ControlChannelError {
    return new ControlChannelError(message.code, message.message, { action: message.action });
  }
}
