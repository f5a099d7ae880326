import type { NextRequest } from "next/server";
import { isEarshotError } from "@/lib/core/errors";
import { isLanguageCode, type LanguageCode } from "@/lib/core/languages";
import { normalizeSessionId } from "@/lib/core/session-id";
import type { LanguageOffer } from "@/lib/core/speech";
import { clientIp } from "@/lib/server/http/client-ip";
import type { PublicSessionInfo } from "@/lib/server/http/dto";
import { lookupPublicSession } from "@/lib/server/http/public-session";
import { getServices } from "@/lib/server/services";
import { renderListenerPage, renderUnavailablePage, type UnavailableReason } from "@/components/listener/page/html";
import { LISTENER_CSS, LISTENER_JS, MEDIA_ENTRY, MEDIA_PRELOAD } from "@/components/listener/page/assets.generated";

/**
 * The listener page (/join/{sessionId}?lang=xx), server-rendered HTML with its
 * CSS and a small script inline: no React runtime on a phone (issue 13; the
 * figures are in docs/BENCHMARKS.md). The page is components/listener/page/.
 */

export const dynamic = "force-dynamic";


function html(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });
}

function unavailable(reason: UnavailableReason, code?: string, status = 404): Response {
  return html(renderUnavailablePage(reason, code, { css: LISTENER_CSS }), status);
}

/** The session's offers (what each language gives); the source language alone where the server says nothing more. */
function offersOf(session: PublicSessionInfo): LanguageOffer[] {
  const offers = (session as PublicSessionInfo & { offers?: LanguageOffer[] }).offers;
  return offers && offers.length > 0 ? offers : [{ language: session.sourceLanguage, kind: "source", captions: false }];
}

export async function GET(request: NextRequest, context: { params: Promise<{ sessionId: string }> }): Promise<Response> {
  const { sessionId: raw } = await context.params;
  const queryLang = request.nextUrl.searchParams.get("lang");
  const lang = isLanguageCode(queryLang) ? queryLang : undefined;

  const sessionId = normalizeSessionId(raw);
  if (!sessionId) return unavailable("invalid", raw.slice(0, 64), 400);
  if (sessionId !== raw) {
    return new Response(null, { status: 307, headers: { location: `/join/${sessionId}${lang ? `?lang=${lang}` : ""}` } });
  }

  const services = await getServices();
  let session: PublicSessionInfo;
  try {
    session = await lookupPublicSession(services, sessionId, clientIp(request.headers, services.config));
  } catch (error) {
    if (isEarshotError(error) && error.code === "SESSION_NOT_FOUND") return unavailable("unknown", sessionId, 404);
    if (isEarshotError(error) && error.code === "RATE_LIMIT_EXCEEDED") return unavailable("rate-limited", undefined, 429);
    throw error;
  }
  if (session.status === "ended") return unavailable("ended", sessionId, 410);

  const offers = offersOf(session);
  const language: LanguageCode = lang && offers.some((o) => o.language === lang) ? lang : session.sourceLanguage;
  const page = renderListenerPage(
    {
      sessionId: session.sessionId,
      title: session.title,
      sourceLanguage: session.sourceLanguage,
      listenerCount: session.listenerCount,
      offers,
      language,
      langFromUrl: language === lang,
      wsUrl: services.config.wsUrl,
      maxConnectionSeconds: services.config.ws.maxConnectionSeconds,
      mediaUrl: `/join/assets/${MEDIA_ENTRY}`,
      live: session.live,
      connectAheadSeconds: services.config.connectAheadSeconds,
    },
    { css: LISTENER_CSS, js: LISTENER_JS, mediaFiles: MEDIA_PRELOAD },
  );
  return html(page);
}
