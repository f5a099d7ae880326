"use client";

import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { BroadcastState, MediaChannelMessage, ServerMessage } from "@/lib/core/protocol";
import { isLanguageCode, type LanguageCode } from "@/lib/core/languages";
import { ControlChannel, ControlChannelError, type ConnectionState } from "@/lib/client/control-channel";
import { controlBaseUrl } from "@/lib/client/ws-url";
import type { PublicSessionInfo } from "@/lib/server/http/dto";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Select } from "@/components/ui/select";
import { StatusPill, type Tone } from "@/components/ui/status-pill";
import { ButtonLink } from "@/components/ui/button";
import { ListenerAudioPlayer, prefetchMediaChannel, preloadViewer, type ListenerMediaState } from "@/components/listener/audio-player";
import { unlockPlayback } from "@/lib/client/media/playback";
import { describeError } from "@/components/shared/describe-error";
import { languageOptions } from "@/components/shared/language-options";

const LANGUAGE_KEY = "earshot.language";

type Phase = "ready" | "joining" | "listening" | "left" | "ended";

// The remembered language, read without a hydration mismatch (the server renders without it).
const subscribeStorage = (onChange: () => void) => {
  window.addEventListener("storage", onChange);
  return () => window.removeEventListener("storage", onChange);
};
const subscribeNothing = () => () => undefined;

function readStoredLanguage(): LanguageCode | undefined {
  try {
    const value = window.localStorage.getItem(LANGUAGE_KEY);
    return isLanguageCode(value) ? value : undefined;
  } catch {
    return undefined; // storage blocked
  }
}
function rememberLanguage(language: LanguageCode): void {
  try {
    window.localStorage.setItem(LANGUAGE_KEY, language);
  } catch {
    // storage blocked: the choice lasts for this page only
  }
}

/**
 * A random key for this tab and session. Re-joining with it from a new
 * connection replaces the old one on the server, so a reconnect never counts
 * this listener twice. Per tab (sessionStorage): two tabs are two listeners.
 */
function clientKeyFor(sessionId: string): string {
  const name = `earshot.clientKey.${sessionId}`;
  try {
    const saved = window.sessionStorage.getItem(name);
    if (saved && /^[A-Za-z0-9_-]{16,64}$/.test(saved)) return saved;
  } catch {
    // storage blocked: a key for this page only
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  try {
    window.sessionStorage.setItem(name, key);
  } catch {
    // as above
  }
  return key;
}

/** Whether the session can still be listened to (for deciding to keep reconnecting). */
async function sessionIsOpen(sessionId: string): Promise<boolean> {
  const response = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}`, { cache: "no-store" });
  if (response.status === 404) return false;
  if (!response.ok) return true; // rate limited or a hiccup: keep trying
  const body = (await response.json()) as PublicSessionInfo;
  return body.status !== "ended";
}

interface View {
  state: string;
  label: string;
  tone: Tone;
  pulse?: boolean;
}

function viewOf(phase: Phase, connection: ConnectionState, broadcast: BroadcastState | undefined, media: ListenerMediaState): View {
  if (phase === "ready") return { state: "idle", label: "Ready to listen", tone: "neutral" };
  if (phase === "left") return { state: "left", label: "You left", tone: "neutral" };
  if (phase === "ended") return { state: "ended", label: "Session ended", tone: "neutral" };
  if (phase === "joining" || connection === "connecting") return { state: "connecting", label: "Connecting…", tone: "info", pulse: true };
  if (connection === "reconnecting") return { state: "reconnecting", label: "Reconnecting…", tone: "warning", pulse: true };
  if (connection === "closed") return { state: "disconnected", label: "Disconnected", tone: "danger" };
  if (broadcast?.status === "paused") return { state: "paused", label: "Paused by the speaker", tone: "warning" };
  if (broadcast?.muted) return { state: "muted", label: "Muted by the speaker", tone: "warning" };
  if (!broadcast?.live && media !== "live") return { state: "waiting", label: "Waiting for the speaker", tone: "info", pulse: true };
  // The speaker is on air: what the listener sees is the audio connection's state.
  if (media === "reconnecting") return { state: "reconnecting", label: "Reconnecting…", tone: "warning", pulse: true };
  if (media === "failed") return { state: "failed", label: "No audio", tone: "danger" };
  if (media !== "live") return { state: "connecting", label: "Connecting…", tone: "info", pulse: true };
  return { state: "live", label: "Live", tone: "live" };
}

export interface ListenerPageClientProps {
  session: PublicSessionInfo;
  /** Configured control URL; undefined: this host's /ws. */
  wsUrl?: string;
  /** The control channel's connection cap (EARSHOT_WS_MAX_CONNECTION_SECONDS; API Gateway: 2 h): it is replaced before. */
  maxConnectionSeconds?: number;
  /** From ?lang=, already validated. */
  initialLanguage?: LanguageCode;
}

export function ListenerPageClient({ session, wsUrl, maxConnectionSeconds, initialLanguage }: ListenerPageClientProps) {
  const storedLanguage = useSyncExternalStore(subscribeStorage, readStoredLanguage, () => undefined);
  // The server renders the Listen button disabled: a tap before the page's script runs would be lost.
  const hydrated = useSyncExternalStore(subscribeNothing, () => true, () => false);
  const [chosenLanguage, setChosenLanguage] = useState<LanguageCode>();
  const language = chosenLanguage ?? initialLanguage ?? storedLanguage ?? session.sourceLanguage;

  const [phase, setPhase] = useState<Phase>("ready");
  const [connection, setConnection] = useState<ConnectionState>("closed");
  const [broadcast, setBroadcast] = useState<BroadcastState>();
  const [listenerCount, setListenerCount] = useState(session.listenerCount);
  const [error, setError] = useState<string>();
  const [switching, setSwitching] = useState(false);
  const [mediaState, setMediaState] = useState<ListenerMediaState>("idle");
  const [mediaPrefetch, setMediaPrefetch] = useState<Promise<MediaChannelMessage | undefined>>();
  const [startCount, setStartCount] = useState(0);
  const [channel, setChannel] = useState<ControlChannel>();
  const channelRef = useRef<ControlChannel | undefined>(undefined);
  const languageRef = useRef(language);

  useEffect(() => {
    languageRef.current = language;
  }, [language]);

  // Leaving the page closes the channel (the server un-counts the listener on disconnect).
  useEffect(() => () => channelRef.current?.close(), []);

  function finish(next: Phase) {
    channelRef.current?.close();
    channelRef.current = undefined;
    setChannel(undefined);
    setPhase(next);
  }

  async function join(ch: ControlChannel): Promise<void> {
    const reply = await ch.request({
      action: "joinSession",
      sessionId: session.sessionId,
      targetLanguage: languageRef.current,
      clientKey: clientKeyFor(session.sessionId),
    });
    setListenerCount(reply.listenerCount);
    setBroadcast(reply.broadcastState);
  }

  function onMessage(message: ServerMessage) {
    switch (message.type) {
      case "broadcastPaused":
      case "broadcastResumed":
      case "broadcastMuted":
      case "broadcastUnmuted":
      case "broadcastStopped":
        setBroadcast(message.broadcastState);
        break;
      case "broadcastStarted":
        // The speaker's media (re)started, maybe from a new page with no peer connections: the player offers again.
        setBroadcast(message.broadcastState);
        setStartCount((n) => n + 1);
        break;
      case "sessionEnded":
        finish("ended");
        break;
      case "error":
        setError(message.message);
        break;
      default:
        break;
    }
  }

  async function listen() {
    // In the click itself: unlock audio playback (iOS Safari, autoplay policies) and start loading the WebRTC module.
    unlockPlayback();
    void preloadViewer().catch(() => undefined);
    rememberLanguage(languageRef.current); // the language actually listened in, also when it came from ?lang=
    setError(undefined);
    setPhase("joining");
    const ch = new ControlChannel({
      url: controlBaseUrl(wsUrl, window.location),
      query: () => ({ sessionId: session.sessionId, targetLanguage: languageRef.current }),
      onStateChange: (state) => {
        if (channelRef.current === ch) setConnection(state);
      },
      onMessage: (message) => {
        if (channelRef.current === ch) onMessage(message);
      },
      onReconnected: () => {
        join(ch).catch((e: unknown) => {
          if (e instanceof ControlChannelError && (e.code === "SESSION_INACTIVE" || e.code === "SESSION_NOT_FOUND")) finish("ended");
          else setError(describeError(e));
        });
      },
      // A few quick retries first; after that, only while the session is still open.
      shouldReconnect: async ({ retryCount }) => retryCount < 2 || (await sessionIsOpen(session.sessionId)),
      maxConnectionMs: maxConnectionSeconds === undefined ? undefined : maxConnectionSeconds * 1000,
    });
    ch.on("disconnected", ({ willReconnect }) => {
      if (channelRef.current !== ch || willReconnect) return;
      void sessionIsOpen(session.sessionId)
        .catch(() => true)
        .then((open) => {
          if (channelRef.current !== ch) return;
          if (open) setError("The connection was lost. Tap Listen to try again.");
          finish(open ? "ready" : "ended");
        });
    });
    channelRef.current = ch;
    setChannel(ch);
    try {
      await ch.connect();
      const joined = join(ch);
      // Sent right behind joinSession: the audio channel is on its way while the join is answered.
      setMediaPrefetch(prefetchMediaChannel(ch));
      await joined;
      if (channelRef.current === ch) setPhase("listening");
    } catch (e) {
      if (channelRef.current !== ch) return;
      const open = await sessionIsOpen(session.sessionId).catch(() => true);
      if (channelRef.current !== ch) return;
      if (!open) return finish("ended");
      setError(describeError(e));
      finish("ready");
    }
  }

  async function leave() {
    const ch = channelRef.current;
    if (ch?.state === "open") await ch.request({ action: "leaveSession" }, { timeoutMs: 3000 }).catch(() => undefined);
    finish("left");
  }

  async function changeLanguage(value: string) {
    if (!isLanguageCode(value) || value === language) return;
    const previous = language;
    setChosenLanguage(value);
    rememberLanguage(value);
    languageRef.current = value;
    const ch = channelRef.current;
    if (phase !== "listening" || ch?.state !== "open") return; // used at the next (re)join
    setSwitching(true);
    try {
      await ch.request({ action: "changeLanguage", targetLanguage: value });
      setError(undefined);
    } catch (e) {
      setChosenLanguage(previous);
      rememberLanguage(previous);
      languageRef.current = previous;
      setError(describeError(e));
    } finally {
      setSwitching(false);
    }
  }

  const view = viewOf(phase, connection, broadcast, mediaState);
  const joined = phase === "listening";

  return (
    <div className="mx-auto flex max-w-xl flex-col gap-5">
      <Card>
        <div className="flex flex-col gap-3">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Listening to</p>
            <StatusPill tone={view.tone} state={view.state} pulse={view.pulse} data-testid="listener-state" role="status" aria-live="polite">
              {view.label}
            </StatusPill>
          </div>
          <div className="min-w-0">
            <h1 className="text-2xl font-bold break-words text-slate-900" data-testid="session-title">
              {session.title || "Untitled session"}
            </h1>
            <p className="mt-1 font-mono text-sm text-slate-500" data-testid="session-code">
              {session.sessionId}
            </p>
          </div>
          {joined ? (
            <p className="text-sm text-slate-600">
              <span data-testid="listener-count" className="font-semibold text-slate-900">
                {listenerCount}
              </span>{" "}
              {listenerCount === 1 ? "person" : "people"} listening
            </p>
          ) : null}
        </div>
      </Card>

      <Card>
        <div className="flex flex-col gap-5">
          <Select
            id="listener-language"
            label="Your language"
            options={languageOptions(session.targetLanguages)}
            value={language}
            onChange={(e) => void changeLanguage(e.target.value)}
            disabled={switching || phase === "ended" || phase === "joining"}
            hint={switching ? "Switching…" : undefined}
            data-testid="language-select"
          />

          {error ? <Alert data-testid="listener-error">{error}</Alert> : null}

          {phase === "ended" ? (
            <div className="flex flex-col items-center gap-4 py-2 text-center" data-testid="session-ended">
              <p className="text-slate-700">The speaker ended this session. Thanks for listening.</p>
              <ButtonLink href="/join" variant="secondary">
                Join another session
              </ButtonLink>
            </div>
          ) : joined ? (
            <>
              <ListenerAudioPlayer
                channel={channel}
                sessionId={session.sessionId}
                language={language}
                broadcastState={broadcast}
                active
                onMediaStateChange={setMediaState}
                prefetchedChannel={mediaPrefetch}
                broadcastStarts={startCount}
              />
              <Button variant="secondary" size="lg" onClick={() => void leave()} data-testid="leave-button">
                Leave
              </Button>
            </>
          ) : (
            <Button
              size="xl"
              className="w-full"
              onClick={() => void listen()}
              busy={phase === "joining"}
              disabled={!hydrated}
              data-testid="listen-button"
            >
              {phase === "joining" ? "Connecting…" : phase === "left" ? "Listen again" : "Listen"}
            </Button>
          )}
        </div>
      </Card>
    </div>
  );
}
