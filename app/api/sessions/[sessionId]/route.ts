import type { NextRequest } from "next/server";
import { getServices } from "@/lib/server/services";
import { clientIp } from "@/lib/server/http/client-ip";
import { lookupPublicSession, requireSessionId } from "@/lib/server/http/public-session";
import { errorResponse, json } from "@/lib/server/http/responses";

/** Public session metadata for listeners: no auth, rate limited per client IP, never cached. */
export async function GET(request: NextRequest, context: { params: Promise<{ sessionId: string }> }): Promise<Response> {
  const { sessionId } = await context.params;
  try {
    requireSessionId(sessionId); // 400 before touching the store
    const services = await getServices();
    return json(await lookupPublicSession(services, sessionId, clientIp(request.headers, services.config)));
  } catch (error) {
    return errorResponse(error, { route: "GET /api/sessions/[sessionId]" });
  }
}
