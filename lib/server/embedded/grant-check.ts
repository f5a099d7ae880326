import { EarshotError } from "../../core/errors";
import { channelName } from "../../core/signaling";
import type { Store } from "../store/store";
import type { SignalingClaims } from "../tokens";

/**
 * Whether a verified signaling grant is still good, asked by the embedded
 * relay on every connect (security review, findings 2 and 3). A grant's
 * signature only says it was issued; this says its holder still has what it
 * was issued for:
 * - its session exists and has not ended (grants outlived `endSession`);
 * - a VIEWER grant's control connection is still a joined listener of that
 *   session holding that very slot (channel and client id). A listener that
 *   left, was replaced by a newer connection or disconnected gave its slot
 *   back; the grants it was given for it open nothing any more.
 * One or two consistent reads per connect.
 */
export function createGrantCheck(store: Store, channelPrefix: string): (claims: SignalingClaims) => Promise<void> {
  return async (claims) => {
    const session = await store.getSession(claims.sessionId, true);
    if (!session) throw new EarshotError("SESSION_NOT_FOUND", "The session of this grant is over.");
    if (session.status === "ended") throw new EarshotError("SESSION_INACTIVE", "The session of this grant has ended.");
    if (claims.role === "MASTER") return;
    if (!claims.connectionId) throw new EarshotError("UNAUTHORIZED_ACTION", "This viewer grant is not bound to a control connection.");
    const conn = await store.getConnection(claims.connectionId);
    const holds =
      conn !== undefined &&
      conn.role === "listener" &&
      conn.sessionId === claims.sessionId &&
      conn.joinedLanguage !== undefined &&
      conn.channelIndex !== undefined &&
      conn.viewerClientId === claims.clientId &&
      channelName(channelPrefix, claims.sessionId, conn.channelIndex) === claims.channel;
    if (!holds) {
      throw new EarshotError(
        "UNAUTHORIZED_ACTION",
        "This grant's media slot was given back (the listener left, reconnected or disconnected); ask for a new one with getMediaChannel.",
      );
    }
  };
}
