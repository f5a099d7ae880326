import type { NextRequest } from "next/server";
import { getToken } from "next-auth/jwt";
import { EarshotError } from "@/lib/core/errors";
import { speakerKvsCredentials, type KvsCredentials } from "@/lib/server/cloud/speaker-credentials";
import { errorResponse, json } from "@/lib/server/http/responses";
import { getServices } from "@/lib/server/services";

/**
 * Cloud only: temporary AWS credentials of the identity pool's signed-in
 * (speaker) role, for the speaker's browser to ConnectAsMaster on KVS.
 * Embedded mode has no AWS: the relay's grants come over the control channel.
 */
export async function GET(request: NextRequest): Promise<Response> {
  try {
    const { config } = await getServices();
    if (config.mode !== "cloud") throw new EarshotError("INVALID_ACTION", "Embedded mode needs no AWS credentials.");
    const token = await getToken({ req: request, secret: config.auth.secret });
    if (!token?.speakerId) throw new EarshotError("UNAUTHORIZED", "Sign in as a speaker first.");
    if (!token.cognitoIdToken) throw new EarshotError("UNAUTHORIZED", "Sign in again to refresh your Cognito session.");
    return json<KvsCredentials>(await speakerKvsCredentials(token.cognitoIdToken, config));
  } catch (error) {
    return errorResponse(error, { route: "GET /api/speaker/kvs-credentials" });
  }
}
