import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { isEarshotError } from "@/lib/core/errors";
import { isLanguageCode } from "@/lib/core/languages";
import { normalizeSessionId } from "@/lib/core/session-id";
import { clientIp } from "@/lib/server/http/client-ip";
import { lookupPublicSession } from "@/lib/server/http/public-session";
import { getServices } from "@/lib/server/services";
import { SessionUnavailable } from "@/components/listener/session-unavailable";
import { ListenerPageClient } from "./listener-page-client";

export const metadata: Metadata = { title: "Listen" };

interface Props {
  params: Promise<{ sessionId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

export default async function ListenPage({ params, searchParams }: Props) {
  const [{ sessionId: raw }, query] = await Promise.all([params, searchParams]);
  const lang = typeof query.lang === "string" && isLanguageCode(query.lang) ? query.lang : undefined;

  const sessionId = normalizeSessionId(raw);
  if (!sessionId) return <SessionUnavailable reason="invalid" code={raw.slice(0, 64)} />;
  if (sessionId !== raw) redirect(`/join/${sessionId}${lang ? `?lang=${lang}` : ""}`);

  const services = await getServices();
  let session;
  try {
    session = await lookupPublicSession(services, sessionId, clientIp(await headers(), services.config));
  } catch (error) {
    if (isEarshotError(error) && error.code === "SESSION_NOT_FOUND") return <SessionUnavailable reason="unknown" code={sessionId} />;
    if (isEarshotError(error) && error.code === "RATE_LIMIT_EXCEEDED") return <SessionUnavailable reason="rate-limited" />;
    throw error;
  }
  if (session.status === "ended") return <SessionUnavailable reason="ended" code={sessionId} />;

  return <ListenerPageClient session={session} wsUrl={services.config.wsUrl} maxConnectionSeconds={services.config.ws.maxConnectionSeconds} initialLanguage={lang} />;
}
