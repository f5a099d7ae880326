import type { LanguageCode } from "../../core/languages";
import type { SessionStatus } from "../../core/schema";

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
  listenerCount: number;
  /** Languages a listener may ask for. */
  targetLanguages: LanguageCode[];
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
