import { getServices } from "@/lib/server/services";
import type { HealthResponse } from "@/lib/server/http/dto";
import { errorResponse, json } from "@/lib/server/http/responses";
import { EarshotError } from "@/lib/core/errors";

const STORE_TIMEOUT_MS = 3000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness and store reachability: 200 when the session store answers, 503 otherwise. */
export async function GET(): Promise<Response> {
  const time = new Date().toISOString();
  let mode: HealthResponse["mode"] | undefined;
  try {
    const { config, store } = await getServices();
    mode = config.mode;
    await withTimeout(store.getSession("health-check-000"), STORE_TIMEOUT_MS);
    return json<HealthResponse>({ status: "ok", mode, time });
  } catch (error) {
    const failed = errorResponse(new EarshotError("INTERNAL_ERROR", "The session store does not answer.", { cause: error }), {
      route: "GET /api/health",
    });
    const body = (await failed.json()) as object;
    return json({ status: "unavailable", ...(mode ? { mode } : {}), time, ...body }, { status: 503 });
  }
}
