import { EarshotError, toEarshotError, type ErrorBody } from "../../core/errors";
import { createLogger } from "../logger";

/** JSON responses of the HTTP API. Every error is `{ error: { code, message } }`. */

const log = createLogger("http");

export const NO_STORE = { "Cache-Control": "no-store" } as const;

export function json<T>(body: T, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return Response.json(body, { status: init.status ?? 200, headers: { ...NO_STORE, ...init.headers } });
}

/** Maps anything thrown to its status and error body; internals are logged, never shown. */
export function errorResponse(error: unknown, context?: Record<string, unknown>): Response {
  const e = toEarshotError(error);
  if (e.code === "INTERNAL_ERROR") log.error("request failed", { ...context, error: e.cause ?? e });
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(e.retryAfter)));
  return json<{ error: ErrorBody }>({ error: e.toBody() }, { status: e.status, headers });
}

export { EarshotError };
