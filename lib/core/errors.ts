/**
 * Every error a client can see has a stable code and a human message.
 * The code set is closed: clients switch on it, docs/PROTOCOL.md lists it.
 */
export const ERROR_CODES = {
  INVALID_MESSAGE: { status: 400, message: "The message is not valid JSON or not an object." },
  INVALID_ACTION: { status: 400, message: "Unknown action." },
  MISSING_PARAMETER: { status: 400, message: "A required parameter is missing." },
  INVALID_PARAMETER: { status: 400, message: "A parameter has an invalid value." },
  INVALID_SESSION_ID: { status: 400, message: "The session id is malformed." },
  UNSUPPORTED_LANGUAGE: { status: 400, message: "That language is not supported." },
  UNAUTHORIZED: { status: 401, message: "The token is invalid or expired." },
  UNAUTHORIZED_ACTION: { status: 403, message: "Your role may not do that." },
  SESSION_INACTIVE: { status: 403, message: "The session has ended." },
  SESSION_NOT_FOUND: { status: 404, message: "No such session." },
  CONFLICT: { status: 409, message: "The state changed underneath the request; retry." },
  MESSAGE_TOO_LARGE: { status: 413, message: "The message is larger than 32 KB." },
  RATE_LIMIT_EXCEEDED: { status: 429, message: "Too many requests; slow down." },
  CHANNEL_FULL: { status: 503, message: "Every signaling channel of this session is full." },
  ENGINE_UNAVAILABLE: { status: 503, message: "A speech engine (recognition, translation or synthesis) is not available." },
  INTERNAL_ERROR: { status: 500, message: "Something went wrong on our side." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** The one error type the core throws. Adapters map it to HTTP statuses or protocol messages. */
export class EarshotError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying (rate limits). */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(message ?? ERROR_CODES[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EarshotError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryAfter = options?.retryAfter;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }

  static rateLimited(retryAfter: number, what = "requests"): EarshotError {
    return new EarshotError("RATE_LIMIT_EXCEEDED", `Too many ${what}; retry in ${retryAfter} s.`, { retryAfter });
  }
}

/**
 * True for an EarshotError, also one made by another copy of this module
 * (Next bundles its own copy beside the embedded runtime's).
 */
export function isEarshotError(error: unknown): error is EarshotError {
  if (error instanceof EarshotError) return true;
  if (!(error instanceof Error) || error.name !== "EarshotError") return false;
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** Turns anything thrown into an EarshotError, hiding internals behind INTERNAL_ERROR. */
export function toEarshotError(error: unknown): EarshotError {
  if (isEarshotError(error)) return error;
  return new EarshotError("INTERNAL_ERROR", undefined, { cause: error });
}
