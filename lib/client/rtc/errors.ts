import { ClientError } from "../errors";

/**
 * Errors of the browser media module: a ClientError of kind `media` with a
 * closed set of codes, a sentence for people, and the underlying `cause`.
 */

export type RtcErrorCode =
  /** The user (or a browser policy) refused the microphone. */
  | "MIC_PERMISSION_DENIED"
  /** No microphone is connected (or none matches the constraints). */
  | "MIC_NOT_FOUND"
  /** The microphone exists but could not be opened (another app holds it, hardware error). */
  | "MIC_UNAVAILABLE"
  /** This browser or context cannot capture or play WebRTC audio (insecure origin, old browser). */
  | "UNSUPPORTED"
  /** The signaling channel could not be opened or dropped. */
  | "SIGNALING_FAILED"
  /** The peer connection failed (ICE, DTLS) or never came up. */
  | "PEER_FAILED"
  /** The media channel configuration could not be used (no grant, missing endpoint, AWS lookups failed). */
  | "CHANNEL_CONFIG"
  /** Gave up after retrying for too long. */
  | "GAVE_UP";

const MESSAGES: Record<RtcErrorCode, string> = {
  MIC_PERMISSION_DENIED:
    "Microphone access was refused. Allow the microphone for this site in your browser's address bar or settings, then try again.",
  MIC_NOT_FOUND: "No microphone was found. Connect a microphone (or headset) and try again.",
  MIC_UNAVAILABLE: "The microphone could not be opened. Close other apps that use it, then try again.",
  UNSUPPORTED: "This browser cannot do live audio here. Use a current Chrome, Edge, Firefox or Safari over https.",
  SIGNALING_FAILED: "Could not reach the audio relay.",
  PEER_FAILED: "The audio connection failed.",
  CHANNEL_CONFIG: "The audio channel could not be set up.",
  GAVE_UP: "The audio connection could not be restored.",
};

export class RtcError extends ClientError<RtcErrorCode> {
  constructor(code: RtcErrorCode, message = MESSAGES[code], options: { cause?: unknown } = {}) {
    super("media", code, message, options);
    this.name = "RtcError";
  }

  /** Maps what getUserMedia threw to a code and a message that says what to do. */
  static fromGetUserMedia(error: unknown): RtcError {
    const name = error instanceof Error || isDomException(error) ? (error as { name: string }).name : "";
    switch (name) {
      case "NotAllowedError":
      case "PermissionDeniedError":
      case "SecurityError":
        return new RtcError("MIC_PERMISSION_DENIED", undefined, { cause: error });
      case "NotFoundError":
      case "DevicesNotFoundError":
      case "OverconstrainedError":
        return new RtcError("MIC_NOT_FOUND", undefined, { cause: error });
      case "NotReadableError":
      case "TrackStartError":
      case "AbortError":
        return new RtcError("MIC_UNAVAILABLE", undefined, { cause: error });
      case "TypeError":
        return new RtcError("UNSUPPORTED", undefined, { cause: error });
      default:
        return new RtcError("MIC_UNAVAILABLE", undefined, { cause: error });
    }
  }
}

function isDomException(value: unknown): boolean {
  return typeof DOMException !== "undefined" && value instanceof DOMException;
}
