"use client";

import { useEffect, useRef, useState } from "react";
import type { BroadcastState, MediaChannelMessage } from "@/lib/core/protocol";
import type { LanguageCode } from "@/lib/core/languages";
import { ControlChannelError, type ControlChannel } from "@/lib/client/control-channel";
import type { ListenerConnection, ListenerMediaState } from "@/lib/client/rtc/viewer";
import { playbackElement, playStream, unlockPlayback } from "@/lib/client/media/playback";
import { useAudioLevel } from "@/lib/client/media/use-audio-level";
import { Button } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { cn } from "@/components/ui/cn";
import { LevelMeter } from "@/components/ui/level-meter";

export type { ListenerMediaState };

export interface ListenerAudioPlayerProps {
  /** The joined control channel (getMediaChannel goes through it). */
  channel?: ControlChannel;
  sessionId: string;
  language: LanguageCode;
  broadcastState?: BroadcastState;
  /** True while the listener is joined. */
  active: boolean;
  /** The audio connection's state, for the page's status pill. */
  onMediaStateChange?: (state: ListenerMediaState) => void;
  /** A getMediaChannel already sent with the join (see prefetchMediaChannel); used for the first attempt. */
  prefetchedChannel?: Promise<MediaChannelMessage | undefined>;
  /** How many `broadcastStarted` the page has seen: each new one means the speaker's media restarted, so offer again. */
  broadcastStarts?: number;
}

/** Loads the WebRTC module (the KVS SDK) only when someone listens; the Listen click starts it early. */
export function preloadViewer(): Promise<typeof import("@/lib/client/rtc/viewer")> {
  return import("@/lib/client/rtc/viewer");
}

/**
 * Asks for the audio channel right behind joinSession, on the same socket: the
 * embedded gateway answers one connection's messages in order, so it is ready
 * as soon as the join is. Where they may be handled out of order (API Gateway
 * and Lambda) the early request can fail; the player then asks again.
 */
export function prefetchMediaChannel(channel: ControlChannel): Promise<MediaChannelMessage | undefined> {
  return channel.request({ action: "getMediaChannel" }).then(
    (reply) => (reply.type === "mediaChannel" ? reply : undefined),
    () => undefined,
  );
}

/** A prefetched channel is used only while its grant has a good margin left. */
function stillFresh(message: MediaChannelMessage | undefined): message is MediaChannelMessage {
  const expires = message?.channels[0]?.grantExpiresAt;
  return message !== undefined && (expires === undefined || expires - Date.now() / 1000 > 30);
}

async function requestViewerChannel(channel: ControlChannel): Promise<MediaChannelMessage> {
  const reply = await channel.request({ action: "getMediaChannel" });
  if (reply.type !== "mediaChannel") throw new Error(`Expected mediaChannel, got ${reply.type}.`);
  return reply;
}

/** The session is gone: no point in retrying the audio. */
function isFatal(error: unknown): boolean {
  return error instanceof ControlChannelError && (error.code === "SESSION_INACTIVE" || error.code === "SESSION_NOT_FOUND");
}

const STATE_TEXT: Record<ListenerMediaState, string> = {
  idle: "Audio starts when the speaker goes live.",
  connecting: "Connecting to the audio…",
  live: "You are hearing the speaker.",
  reconnecting: "Reconnecting the audio…",
  failed: "The audio connection failed.",
};

/**
 * The listener's audio: a WebRTC viewer (lib/client/rtc/viewer.ts), the
 * page's one <audio> element (lib/client/media/playback.ts, unlocked by the
 * Listen click), volume and mute, and an activity bar. It connects when the
 * broadcast is live, offers again when the speaker comes back after a stop,
 * and closes its connection when it unmounts (left, ended).
 */
export function ListenerAudioPlayer({
  channel,
  broadcastState,
  active,
  onMediaStateChange,
  prefetchedChannel,
  broadcastStarts = 0,
}: ListenerAudioPlayerProps) {
  const [viewer, setViewer] = useState<ListenerConnection>();
  const [mediaState, setMediaState] = useState<ListenerMediaState>("idle");
  const [stream, setStream] = useState<MediaStream>();
  const [blocked, setBlocked] = useState(false);
  const [volume, setVolume] = useState(100);
  const [muted, setMuted] = useState(false);
  /** The broadcastStarts value the viewer last (re)started for; undefined before it started. */
  const startedFor = useRef<number | undefined>(undefined);
  const onStateRef = useRef(onMediaStateChange);
  const prefetchRef = useRef(prefetchedChannel);
  const live = broadcastState?.live === true;

  useEffect(() => {
    onStateRef.current = onMediaStateChange;
  }, [onMediaStateChange]);
  useEffect(() => {
    prefetchRef.current = prefetchedChannel;
  }, [prefetchedChannel]);

  // One viewer per joined channel.
  useEffect(() => {
    if (!active || !channel) return;
    let disposed = false;
    let created: ListenerConnection | undefined;
    preloadViewer().then(
      ({ ListenerConnection }) => {
        if (disposed) return;
        const requestChannel = async () => {
          const early = prefetchRef.current;
          prefetchRef.current = undefined;
          const message = early ? await early : undefined;
          return stillFresh(message) ? message : requestViewerChannel(channel);
        };
        created = new ListenerConnection({ requestChannel, isFatal });
        created.on("stateChanged", (state) => {
          setMediaState(state);
          onStateRef.current?.(state);
        });
        created.on("stream", (s) => setStream(s));
        setViewer(created);
      },
      (error: unknown) => {
        console.error("[listener] could not load the audio module", error);
        if (!disposed) {
          setMediaState("failed");
          onStateRef.current?.("failed");
        }
      },
    );
    return () => {
      disposed = true;
      created?.stop();
      created?.removeAllListeners();
      startedFor.current = undefined;
      setViewer(undefined);
      setStream(undefined);
      setMediaState("idle");
      onStateRef.current?.("idle");
    };
  }, [active, channel]);

  // Connect when the broadcast is live; offer again whenever the speaker's media starts anew.
  useEffect(() => {
    if (!viewer || !live) return;
    if (startedFor.current === undefined) viewer.start();
    else if (startedFor.current !== broadcastStarts) void viewer.restartUnlessFlowing();
    startedFor.current = broadcastStarts;
  }, [viewer, live, broadcastStarts]);

  // The stream plays through the unlocked element.
  useEffect(() => {
    let current = true;
    playStream(stream).then((ok) => {
      if (current) setBlocked(!ok);
    });
    return () => {
      current = false;
    };
  }, [stream]);

  // Leaving (unmount) detaches the stream.
  useEffect(() => () => void playStream(undefined), []);

  // The Listen button that had the focus is gone: keep keyboard and screen-reader users in the player.
  const sectionRef = useRef<HTMLElement>(null);
  useEffect(() => {
    if (active && (document.activeElement === document.body || document.activeElement === null)) {
      sectionRef.current?.querySelector<HTMLButtonElement>('[data-testid="listener-mute"]')?.focus();
    }
  }, [active]);

  useEffect(() => {
    const el = playbackElement();
    el.volume = volume / 100;
    el.muted = muted;
  }, [volume, muted]);

  const level = useAudioLevel(stream, mediaState === "live");
  const speakerSilent = broadcastState?.status === "paused" || broadcastState?.muted === true;
  const text = !live && mediaState !== "live" ? STATE_TEXT.idle : STATE_TEXT[mediaState];

  function playAfterBlock() {
    unlockPlayback();
    void playStream(stream).then((ok) => setBlocked(!ok));
  }

  if (!active) return null;
  return (
    <section ref={sectionRef} aria-label="Audio" data-testid="audio-player" data-state={mediaState} className="flex flex-col gap-4 rounded-xl bg-slate-50 p-4 ring-1 ring-slate-200">
      <div className="flex items-center gap-3">
        <span
          aria-hidden="true"
          className={cn(
            "grid size-10 shrink-0 place-items-center rounded-full text-lg",
            mediaState === "live" && !speakerSilent ? "bg-red-600 text-white" : "bg-slate-200 text-slate-600",
          )}
        >
          {mediaState === "live" ? "♪" : "…"}
        </span>
        <div className="min-w-0 flex-1">
          <p className="text-sm font-medium text-slate-900" data-testid="audio-state-text" aria-live="polite">
            {speakerSilent && mediaState === "live" ? "Connected. The speaker's audio is off for now." : text}
          </p>
          <LevelMeter level={level} className="mt-2 h-2" testId="listener-level" aria-label="Audio level" />
        </div>
      </div>

      {blocked ? (
        <Button size="xl" className="w-full" onClick={playAfterBlock} data-testid="tap-to-play">
          Tap to play audio
        </Button>
      ) : null}

      {mediaState === "failed" ? (
        <Alert data-testid="audio-error">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <span>The audio connection could not be restored.</span>
            <Button variant="secondary" onClick={() => viewer?.start()} data-testid="audio-retry">
              Try again
            </Button>
          </div>
        </Alert>
      ) : null}

      <div className="flex items-center gap-3">
        <Button
          variant="secondary"
          onClick={() => setMuted((m) => !m)}
          aria-pressed={muted}
          data-testid="listener-mute"
          className="w-28 shrink-0"
        >
          {muted ? "Unmute" : "Mute"}
        </Button>
        <label htmlFor="listener-volume" className="sr-only">
          Volume
        </label>
        <input
          id="listener-volume"
          type="range"
          min={0}
          max={100}
          step={1}
          value={volume}
          onChange={(e) => setVolume(Number(e.target.value))}
          aria-valuetext={`${volume}%`}
          disabled={muted}
          className="h-11 w-full cursor-pointer accent-brand-600 disabled:cursor-not-allowed disabled:opacity-50"
          data-testid="listener-volume"
        />
        <span aria-hidden="true" className="w-10 text-right text-sm tabular-nums text-slate-600">
          {muted ? "off" : `${volume}%`}
        </span>
      </div>
    </section>
  );
}
