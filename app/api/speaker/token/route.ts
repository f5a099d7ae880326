import { EarshotError } from "@/lib/core/errors";
import { getSpeaker } from "@/lib/server/auth/session";
import type { SpeakerTokenResponse } from "@/lib/server/http/dto";
import { errorResponse, json } from "@/lib/server/http/responses";
import { getServices } from "@/lib/server/services";

/**
 * A 15-minute token for the signed-in speaker's WebSocket control channel.
 * Only this handler (which holds the private key) mints it.
 */
export async function GET(): Promise<Response> {
  try {
    const speaker = await getSpeaker();
    if (!speaker) throw new EarshotError("UNAUTHORIZED", "Sign in as a speaker first.");
    const { signer } = await getServices();
    if (!signer) throw new EarshotError("INTERNAL_ERROR", "EARSHOT_TOKEN_PRIVATE_KEY is not configured.");
    const { token, expiresAt } = await signer.speakerToken(speaker);
    return json<SpeakerTokenResponse>({ token, expiresAt });
  } catch (error) {
    return errorResponse(error, { route: "GET /api/speaker/token" });
  }
}
