import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { normalizeSessionId } from "@/lib/core/session-id";
import { getSpeaker } from "@/lib/server/auth/session";
import { sessionOffers } from "@/lib/core/speech";
import { getServices } from "@/lib/server/services";
import type { SpeechServices } from "@/lib/server/speech/ports";
import { ENGINES_OFF, type SpeakerSpeechInfo } from "@/components/speaker/speech-info";
import { SpeakerPageClient, type ResumableSession } from "./speaker-page-client";

export const metadata: Metadata = { title: "Speak" };

interface Props {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

export default async function SpeakerPage({ searchParams }: Props) {
  const query = await searchParams;
  const requested = typeof query.session === "string" ? query.session : undefined;
  const speaker = await getSpeaker();
  if (!speaker) {
    const back = requested ? `/speaker?session=${encodeURIComponent(requested)}` : "/speaker";
    redirect(`/signin?callbackUrl=${encodeURIComponent(back)}`);
  }

  const services = await getServices();
  const { config, store } = services;
  // The engines in effect, where the runtime put them on the services (absent: every engine is off).
  const speechServices = (services as { speech?: Pick<SpeechServices, "engines" | "notices"> }).speech;
  const speech: SpeakerSpeechInfo = { engines: speechServices?.engines ?? ENGINES_OFF, notices: speechServices?.notices ?? [] };
  let resume: ResumableSession | undefined;
  let notice: string | undefined;
  if (requested !== undefined) {
    // Re-attach after a reload: only to a live session of this speaker (one message for "absent" and "not yours").
    const sessionId = normalizeSessionId(requested);
    const session = sessionId ? await store.getSession(sessionId, true) : undefined;
    if (!session || session.speakerId !== speaker.speakerId) notice = "That session was not found. Start a new one.";
    else if (session.status === "ended") notice = `Session ${session.sessionId} has ended. Start a new one.`;
    else {
      resume = {
        sessionId: session.sessionId,
        title: session.title,
        sourceLanguage: session.sourceLanguage,
        joinUrl: `${config.publicUrl}/join/${session.sessionId}`,
        targetLanguages: session.targetLanguages ?? [],
        recognizer: session.recognizer ?? "off",
        offers: sessionOffers(speech.engines, session),
      };
    }
  }

  return (
    <SpeakerPageClient
      speaker={{ name: speaker.name ?? speaker.email ?? "Speaker", email: speaker.email }}
      wsUrl={config.wsUrl}
      maxConnectionSeconds={config.ws.maxConnectionSeconds}
      signalingMaxConnectionSeconds={config.signaling.maxConnectionSeconds}
      resume={resume}
      notice={notice}
      linkSource={config.publicUrlSource}
      speech={speech}
    />
  );
}
