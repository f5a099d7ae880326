"use client";

import { signOut } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { SpeakerSession } from "@/lib/client/session/speaker-session";
import type { SpeakerSessionInfo } from "@/lib/client/session/speaker-state";
import { useSession } from "@/lib/client/session/use-session";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { ConnectionPill } from "@/components/shared/connection-pill";
import { languageLabel } from "@/components/shared/language-options";
import { BroadcastControls } from "@/components/speaker/broadcast-controls";
import { BroadcastStatePill } from "@/components/speaker/broadcast-state-pill";
import { CreateSessionForm } from "@/components/speaker/create-session-form";
import { ListenerCounts } from "@/components/speaker/listener-counts";
import { SpeakerLiveAudio } from "@/components/speaker/live-audio";
import { LiveTranslation } from "@/components/speaker/live-translation";
import { ENGINES_OFF, type SpeakerSpeechInfo } from "@/components/speaker/speech-info";
import { TranscriptDownloads } from "@/components/speaker/transcript-downloads";
import { openTranscribe } from "@/components/speaker/transcribe";
import { SessionShare } from "@/components/speaker/session-share";
import type { LinkSource } from "@/components/speaker/share-url";

/** A live session of this speaker the page re-attaches to after a reload (checked on the server). */
export type ResumableSession = SpeakerSessionInfo;

export interface SpeakerPageClientProps {
  speaker: { name: string; email?: string };
  /** Configured control URL; undefined: this host's /ws. */
  wsUrl?: string;
  /** The control channel's connection cap (EARSHOT_WS_MAX_CONNECTION_SECONDS; API Gateway: 2 h): it is replaced before. */
  maxConnectionSeconds?: number;
  /** The signaling connection's cap (EARSHOT_SIGNALING_MAX_CONNECTION_SECONDS; KVS: 1 h): the speaker renews it before. */
  signalingMaxConnectionSeconds?: number;
  resume?: ResumableSession;
  /** Shown above the form (e.g. the session in the URL has ended). */
  notice?: string;
  /** Where the join link's base came from (Config.publicUrlSource): decides the link and QR code (share-url.ts). */
  linkSource?: LinkSource;
  /** The translation engines in effect on this server. */
  speech?: SpeakerSpeechInfo;
}

/** The speaker's page: a view over SpeakerSession (lib/client/session/speaker-session.ts). */
export function SpeakerPageClient({
  speaker,
  wsUrl,
  maxConnectionSeconds,
  signalingMaxConnectionSeconds,
  resume,
  notice,
  linkSource,
  speech = { engines: ENGINES_OFF, notices: [] },
}: SpeakerPageClientProps) {
  const router = useRouter();
  const [state, speakerSession] = useSession(
    () =>
      new SpeakerSession({
        wsUrl,
        maxConnectionSeconds,
        signalingMaxConnectionSeconds,
        resume,
        onSignedOut: () => router.replace(`/signin?callbackUrl=${encodeURIComponent(`${window.location.pathname}${window.location.search}`)}`),
      }),
  );
  // The end-session dialog is open for this session (a new session starts with it closed).
  const [confirmEndFor, setConfirmEndFor] = useState<string>();
  const { session, broadcast, counts, ended, connection, connectError, error, busy, live } = state;
  const confirmEnd = !!session && confirmEndFor === session.sessionId;

  const open = connection === "open";

  return (
    <div className="flex flex-col gap-5">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="min-w-0">
          <h1 className="text-2xl font-bold text-slate-900 sm:text-3xl">Speak</h1>
          <p className="truncate text-sm text-slate-600">
            Signed in as <span className="font-medium text-slate-800">{speaker.name}</span>
            {speaker.email && speaker.email !== speaker.name ? ` (${speaker.email})` : null}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <ConnectionPill state={connection} />
          <Button variant="ghost" onClick={() => void signOut({ callbackUrl: "/" })} data-testid="sign-out-button">
            Sign out
          </Button>
        </div>
      </div>

      {notice && !session && !ended ? (
        <Alert tone="notice" data-testid="speaker-notice">
          {notice}
        </Alert>
      ) : null}
      {connectError ? (
        <Alert data-testid="speaker-connect-error">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <span>{connectError}</span>
            <Button variant="secondary" onClick={() => speakerSession.retryConnect()} data-testid="retry-connect-button">
              Try again
            </Button>
          </div>
        </Alert>
      ) : null}
      {error ? <Alert data-testid="speaker-error">{error}</Alert> : null}

      {session && broadcast ? (
        <>
          <Card
            title={session.title || "Untitled session"}
            description={`Speaking ${languageLabel(session.sourceLanguage)}`}
            aside={<BroadcastStatePill state={broadcast} />}
            id="session-card"
          >
            <SessionShare sessionId={session.sessionId} joinUrl={session.joinUrl} linkSource={linkSource} />
          </Card>

          <Card title="Broadcast" id="broadcast-card">
            <div className="flex flex-col gap-4">
              <SpeakerLiveAudio
                key={session.sessionId}
                live={live}
                connected={open}
                silent={state.silent}
                onGoLive={() => void speakerSession.goLive()}
                onStop={() => void speakerSession.stopLive()}
              />
              <BroadcastControls
                state={broadcast}
                disabled={!open}
                busy={busy === "createSession" ? undefined : busy}
                onAction={(action) => void speakerSession.broadcastAction(action)}
                onEnd={() => setConfirmEndFor(session.sessionId)}
              />
            </div>
          </Card>

          <Card
            title="Live translation"
            description={session.offers.length > 1 ? `Into ${session.offers.filter((o) => o.kind !== "source").map((o) => languageLabel(o.language)).join(", ")}` : undefined}
            id="translation-card"
          >
            <LiveTranslation
              key={session.sessionId}
              session={speakerSession}
              sessionId={session.sessionId}
              sourceLanguage={session.sourceLanguage}
              recognizer={session.recognizer}
              offers={session.offers}
              stream={live.stream}
              active={state.speaking}
              byLanguage={counts.byLanguage}
              openTranscribe={openTranscribe}
            />
          </Card>

          <Card title="Listeners" id="listeners-card">
            <ListenerCounts total={counts.total} byLanguage={counts.byLanguage} originalListeners={counts.originalListeners} />
          </Card>

          <ConfirmDialog
            open={confirmEnd}
            title="End this session?"
            confirmLabel="End session"
            danger
            busy={busy === "endSession"}
            onConfirm={() => void speakerSession.endSession().finally(() => setConfirmEndFor(undefined))}
            onCancel={() => setConfirmEndFor(undefined)}
            testId="end-session-dialog"
          >
            Everyone listening is disconnected and the code stops working. This cannot be undone.
          </ConfirmDialog>
        </>
      ) : (
        <>
          {ended ? (
            <Card data-testid="session-ended">
              <p className="text-slate-700">
                Session <span className="font-mono font-semibold">{ended.sessionId}</span> has ended.
              </p>
              <TranscriptDownloads sessionId={ended.sessionId} className="mt-3 flex flex-wrap items-center gap-2" />
            </Card>
          ) : null}
          <Card title={ended ? "Start another session" : "Start a session"} description="Listeners join with a code, a link or a QR code.">
            <CreateSessionForm disabled={!open} busy={busy === "createSession"} speech={speech} onCreate={(input) => void speakerSession.createSession(input)} />
          </Card>
        </>
      )}
    </div>
  );
}
