import type { NextRequest } from "next/server";
import { EarshotError } from "@/lib/core/errors";
import { isLanguageCode } from "@/lib/core/languages";
import { getSpeaker } from "@/lib/server/auth/session";
import { requireSessionId } from "@/lib/server/http/public-session";
import { errorResponse } from "@/lib/server/http/responses";
import { getServices } from "@/lib/server/services";
import { transcriptLanguages, transcriptTxt, transcriptVtt, type TranscriptLanguage } from "@/lib/server/speech/transcript-format";

/**
 * The session's transcript with its translations, for its speaker only:
 * `?format=txt|vtt` (default txt), `?lang=<code>|all` (default all). Works
 * while the session runs and after it ended, until the session expires.
 */
export async function GET(request: NextRequest, context: { params: Promise<{ sessionId: string }> }): Promise<Response> {
  const { sessionId: raw } = await context.params;
  try {
    const sessionId = requireSessionId(raw);
    const params = request.nextUrl.searchParams;
    const format = params.get("format") ?? "txt";
    if (format !== "txt" && format !== "vtt") throw new EarshotError("INVALID_PARAMETER", 'format must be "txt" or "vtt".');
    const langParam = params.get("lang") ?? "all";
    if (langParam !== "all" && !isLanguageCode(langParam)) {
      throw new EarshotError("UNSUPPORTED_LANGUAGE", `Language "${langParam.slice(0, 16)}" is not supported; use a language code or "all".`);
    }
    const speaker = await getSpeaker();
    if (!speaker) throw new EarshotError("UNAUTHORIZED", "Sign in as the session's speaker first.");
    const { store } = await getServices();
    const session = await store.getSession(sessionId, true);
    if (!session) throw new EarshotError("SESSION_NOT_FOUND", "No session has that code, or it has expired.");
    if (session.speakerId !== speaker.speakerId) throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may download its transcript.");
    const segments = await store.listSegments(sessionId);
    const language: TranscriptLanguage = langParam === "all" ? "all" : langParam;
    if (language !== "all" && !transcriptLanguages(session, segments).includes(language)) {
      throw new EarshotError("UNSUPPORTED_LANGUAGE", `This transcript has no "${language}" text; it has ${transcriptLanguages(session, segments).join(", ")}.`);
    }
    const body = format === "vtt" ? transcriptVtt(session, segments, language) : transcriptTxt(session, segments, language);
    const filename = `earshot-${sessionId}${language === "all" ? "" : `-${language}`}.${format}`;
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": format === "vtt" ? "text/vtt; charset=utf-8" : "text/plain; charset=utf-8",
        "Content-Disposition": `attachment; filename="${filename}"`,
        "Cache-Control": "no-store",
      },
    });
  } catch (error) {
    return errorResponse(error, { route: "GET /api/sessions/[sessionId]/transcript" });
  }
}
