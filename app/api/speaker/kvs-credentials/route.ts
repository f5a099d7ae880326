import type { NextRequest } from "next/server";
import { getToken } from "next-auth/jwt";
import { EarshotError } from "@/lib/core/errors";
import { isValidSessionId } from "@/lib/core/session-id";
import { speakerKvsCredentials, type KvsCredentials } from "@/lib/server/cloud/speaker-credentials";
import { errorResponse, json } from "@/lib/server/http/responses";
import { getServices } from "@/lib/server/services";

/**
 * Cloud only: temporary AWS credentials for the speaker's browser to
 * ConnectAsMaster on KVS, to the channels of one session of theirs
 * (`?channel=` one of its channel names) and no other.
 * Embedded mode has no AWS: the relay's grants come over the control channel.
 */
export async function GET(request: NextRequest): Promise<Response> {
  try {
    const { config, store } = await getServices();
    if (config.mode !== "cloud") throw new EarshotError("INVALID_ACTION", "Embedded mode needs no AWS credentials.");
    const token = await getToken({ req: request, secret: config.auth.secret });
    if (!token?.speakerId) throw new EarshotError("UNAUTHORIZED", "Sign in as a speaker first.");
    const channel = request.nextUrl.searchParams.get("channel") ?? "";
    const prefix = config.kvs.channelPrefix;
    const match = channel.startsWith(prefix) ? /^(.+)-\d{1,3}$/.exec(channel.slice(prefix.length)) : null;
    const sessionId = match?.[1];
    if (!sessionId || !isValidSessionId(sessionId)) throw new EarshotError("INVALID_PARAMETER", "channel must be one of your session's signaling channel names.");
    const session = await store.getSession(sessionId, true);
    // One answer for "absent" and "not yours".
    if (!session || session.speakerId !== token.speakerId) throw new EarshotError("SESSION_NOT_FOUND");
    if (session.status === "ended") throw new EarshotError("SESSION_INACTIVE");
    return json<KvsCredentials>(await speakerKvsCredentials(sessionId, config));
  } catch (error) {
    return errorResponse(error, { route: "GET /api/speaker/kvs-credentials" });
  }
}
