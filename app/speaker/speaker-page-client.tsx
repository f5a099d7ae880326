"use client";

import { signOut } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useEffect, useEffectEvent, useRef, useState } from "react";
import type { LanguageCode } from "@/lib/core/languages";
import type { BroadcastState, LanguageDistribution, ServerMessage } from "@/lib/core/protocol";
import type { LanguageOffer, SessionRecognizer } from "@/lib/core/speech";
import { ControlChannel, ControlChannelError, type ConnectionState } from "@/lib/client/control-channel";
import { isSessionGone } from "@/lib/client/errors";
import { controlBaseUrl } from "@/lib/client/ws-url";
import type { SpeakerTokenResponse } from "@/lib/server/http/dto";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { ConnectionPill } from "@/components/shared/connection-pill";
import { describeError } from "@/lib/client/describe-error";
import { languageLabel } from "@/components/shared/language-options";
import { BroadcastControls, type BroadcastAction } from "@/components/speaker/broadcast-controls";
import { BroadcastStatePill } from "@/components/speaker/broadcast-state-pill";
import { CreateSessionForm, type CreateSessionInput } from "@/components/speaker/create-session-form";
import { ListenerCounts } from "@/components/speaker/listener-counts";
import { SpeakerLiveAudio, type Phase } from "@/components/speaker/live-audio";
import { LiveTranslation } from "@/components/speaker/live-translation";
import { ENGINES_OFF, type SpeakerSpeechInfo } from "@/components/speaker/speech-info";
import { TranscriptDownloads } from "@/components/speaker/transcript-downloads";
import { openTranscribe } from "@/components/speaker/transcribe";
import { SessionShare } from "@/components/speaker/session-share";
import type { LinkSource } from "@/components/speaker/share-url";

/** A live session of this speaker the page re-attaches to after a reload (checked on the server). */
export interface ResumableSession {
  sessionId: string;
  title: string;
  sourceLanguage: LanguageCode;
  joinUrl: string;
  targetLanguages: LanguageCode[];
  recognizer: SessionRecognizer;
  /** What each language of the session gets, source first. */
  offers: LanguageOffer[];
}

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

interface Counts {
  total: number;
  byLanguage: LanguageDistribution;
  /** Listeners connected to the speaker's voice (media slots). */
  originalListeners: number;
}

const NO_COUNTS: Counts = { total: 0, byLanguage: {}, originalListeners: 0 };

/** Puts the session in the address bar (or takes it out) so a reload re-attaches; no navigation. */
function setSessionInUrl(sessionId: string | undefined): void {
  const url = new URL(window.location.href);
  if (sessionId) url.searchParams.set("session", sessionId);
  else url.searchParams.delete("session");
  window.history.replaceState(null, "", `${url.pathname}${url.search}`);
}

/** A fresh 15-minute speaker token for each (re)connect. */
async function fetchSpeakerToken(onSignedOut: () => void): Promise<string> {
  const response = await fetch("/api/speaker/token", { cache: "no-store" });
  if (response.status === 401) {
    onSignedOut();
    throw new ControlChannelError("UNAUTHORIZED", "Your sign-in has expired.");
  }
  if (!response.ok) throw new ControlChannelError("INTERNAL_ERROR", "Could not get a speaker token.");
  return ((await response.json()) as SpeakerTokenResponse).token;
}

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
  const [session, setSession] = useState<ResumableSession | undefined>(resume);
  const [broadcast, setBroadcast] = useState<BroadcastState | undefined>(
    resume ? { status: "active", muted: false, live: false } : undefined,
  );
  const [counts, setCounts] = useState<Counts>(NO_COUNTS);
  const [ended, setEnded] = useState<{ sessionId: string; listeners: number }>();
  const [connection, setConnection] = useState<ConnectionState | "idle">("idle");
  const [connectError, setConnectError] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<BroadcastAction | "endSession" | "createSession">();
  const [confirmEnd, setConfirmEnd] = useState(false);
  const [micStream, setMicStream] = useState<MediaStream>();
  const [phase, setPhase] = useState<Phase>("off");
  const sessionIdRef = useRef<string | undefined>(resume?.sessionId);
  const signedOutRef = useRef(false);

  function signInAgain() {
    signedOutRef.current = true;
    router.replace(`/signin?callbackUrl=${encodeURIComponent(`${window.location.pathname}${window.location.search}`)}`);
  }

  // The channel object is inert until connect(); the URL is read when it connects (in the browser).
  const [channel] = useState(
    () =>
      new ControlChannel({
        url: () => controlBaseUrl(wsUrl, window.location),
        // With a sessionId the server re-attaches this connection as the session's speaker.
        query: async () => ({ token: await fetchSpeakerToken(signInAgain), sessionId: sessionIdRef.current }),
        // Signed out elsewhere: stop, the page is on its way to /signin.
        shouldReconnect: () => !signedOutRef.current,
        maxConnectionMs: maxConnectionSeconds === undefined ? undefined : maxConnectionSeconds * 1000,
      }),
  );

  const applyStatus = (message: Extract<ServerMessage, { type: "sessionStatus" }>) => {
    setCounts({
      total: Math.max(0, message.listenerCount),
      byLanguage: message.languageDistribution,
      originalListeners: Math.max(0, message.originalListeners),
    });
    setBroadcast(message.broadcastState);
  };

  async function refreshStatus() {
    if (!sessionIdRef.current) return;
    try {
      applyStatus(await channel.request({ action: "getSessionStatus" }));
    } catch (e) {
      if (isSessionGone(e)) markEnded();
      else setError(describeError(e));
    }
  }

  const onMessage = useEffectEvent((message: ServerMessage) => {
    if ("sessionId" in message && message.sessionId !== sessionIdRef.current) return; // an older session's news
    switch (message.type) {
      case "sessionStatus":
        applyStatus(message);
        break;
      case "broadcastPaused":
      case "broadcastResumed":
      case "broadcastMuted":
      case "broadcastUnmuted":
      case "broadcastStarted":
      case "broadcastStopped":
        setBroadcast(message.broadcastState);
        break;
      case "sessionEnded":
        markEnded();
        break;
      case "error":
        setError(message.message);
        break;
      default:
        break;
    }
  });

  function markEnded() {
    const sessionId = sessionIdRef.current;
    if (!sessionId) return;
    sessionIdRef.current = undefined; // reconnects from now on come back without a session
    setEnded({ sessionId, listeners: counts.total });
    setSession(undefined);
    setBroadcast(undefined);
    setConfirmEnd(false);
    setSessionInUrl(undefined);
  }

  function connectFailed(e: unknown) {
    if (channel.state === "closed" && !signedOutRef.current) setConnectError(describeError(e));
  }

  function retryConnect() {
    setConnectError(undefined);
    channel.connect().then(() => refreshStatus(), connectFailed);
  }

  const onOpened = useEffectEvent(() => void refreshStatus());
  const onConnectFailed = useEffectEvent((e: unknown) => connectFailed(e));

  useEffect(() => {
    let active = true;
    const offState = channel.on("stateChanged", (state) => setConnection(state));
    const offMessage = channel.on("message", (message) => onMessage(message));
    const offReconnected = channel.on("reconnected", () => onOpened());
    channel.connect().then(
      () => active && onOpened(),
      (e: unknown) => active && onConnectFailed(e),
    );
    return () => {
      active = false;
      offState();
      offMessage();
      offReconnected();
      channel.close();
    };
  }, [channel]);

  async function createSession(input: CreateSessionInput) {
    setBusy("createSession");
    setError(undefined);
    try {
      const created = await channel.request({
        action: "createSession",
        sourceLanguage: input.sourceLanguage,
        title: input.title || undefined,
        targetLanguages: input.targetLanguages,
        recognizer: input.recognizer,
      });
      sessionIdRef.current = created.sessionId;
      setSession({
        sessionId: created.sessionId,
        title: created.title,
        sourceLanguage: created.sourceLanguage,
        joinUrl: created.joinUrl,
        targetLanguages: created.targetLanguages,
        recognizer: created.recognizer,
        offers: created.offers,
      });
      setBroadcast(created.broadcastState);
      setCounts(NO_COUNTS);
      setEnded(undefined);
      setSessionInUrl(created.sessionId);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(undefined);
    }
  }

  async function broadcastAction(action: BroadcastAction) {
    setBusy(action);
    setError(undefined);
    try {
      const reply = await channel.request({ action });
      setBroadcast(reply.broadcastState);
    } catch (e) {
      if (isSessionGone(e)) markEnded();
      else setError(describeError(e));
    } finally {
      setBusy(undefined);
    }
  }

  async function endSession() {
    setBusy("endSession");
    setError(undefined);
    try {
      await channel.request({ action: "endSession" });
      markEnded();
    } catch (e) {
      if (isSessionGone(e)) markEnded();
      else setError(describeError(e));
    } finally {
      setBusy(undefined);
      setConfirmEnd(false);
    }
  }

  const open = connection === "open";
  const speaking = phase === "live" && !!broadcast && broadcast.status === "active" && !broadcast.muted && busy !== "pauseBroadcast" && busy !== "muteBroadcast";

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
            <Button variant="secondary" onClick={retryConnect} data-testid="retry-connect-button">
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
                channel={channel}
                sessionId={session.sessionId}
                broadcastState={broadcast}
                connected={open}
                pendingAction={busy}
                signalingMaxConnectionSeconds={signalingMaxConnectionSeconds}
                onStream={setMicStream}
                onPhase={setPhase}
              />
              <BroadcastControls
                state={broadcast}
                disabled={!open}
                busy={busy === "createSession" ? undefined : busy}
                onAction={(action) => void broadcastAction(action)}
                onEnd={() => setConfirmEnd(true)}
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
              channel={channel}
              sessionId={session.sessionId}
              sourceLanguage={session.sourceLanguage}
              recognizer={session.recognizer}
              offers={session.offers}
              stream={micStream}
              active={speaking}
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
            onConfirm={() => void endSession()}
            onCancel={() => setConfirmEnd(false)}
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
            <CreateSessionForm disabled={!open} busy={busy === "createSession"} speech={speech} onCreate={(input) => void createSession(input)} />
          </Card>
        </>
      )}
    </div>
  );
}
