import type { LanguageCode } from "../../core/languages";
import type { SessionStatus } from "../../core/schema";
import type { LanguageOffer } from "../../core/speech";

/**
 * Shapes the HTTP API returns. Type-only (no runtime imports), so client
 * components may `import type` them.
 */

/** GET /api/sessions/{sessionId} */
export interface PublicSessionInfo {
  sessionId: string;
  title: string;
  sourceLanguage: LanguageCode;
  status: SessionStatus;
  /** The speaker's media is up (listeners of the original may connect now). */
  live: boolean;
  listenerCount: number;
  /** Languages a listener may ask for: the source and the languages the session offers, source first. */
  targetLanguages: LanguageCode[];
  /** What each of those languages gets (source / voice / captions), in the same order. */
  offers: LanguageOffer[];
  /** Epoch milliseconds. */
  createdAt: number;
}

/** GET /api/speaker/token */
export interface SpeakerTokenResponse {
  token: string;
  /** Epoch seconds. */
  expiresAt: number;
}

/** GET /api/health */
export interface HealthResponse {
  status: "ok" | "unavailable";
  mode: "embedded" | "cloud";
  /** ISO 8601. */
  time: string;
}
