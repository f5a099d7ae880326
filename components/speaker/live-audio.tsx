"use client";

import { useEffect, useEffectEvent, useRef, useState } from "react";
import type { BroadcastState, MediaChannelMessage, ServerMessage } from "@/lib/core/protocol";
import { replacementDelayMs, type ControlChannel } from "@/lib/client/control-channel";
import { isClientError } from "@/lib/client/errors";
import type { BroadcastMaster } from "@/lib/client/rtc/master";
import { openMicrophone, stopStream } from "@/lib/client/rtc/microphone";
import { resumeAudioContext } from "@/lib/client/media/level";
import { useAudioLevel } from "@/lib/client/media/use-audio-level";
import { describeError } from "@/lib/client/describe-error";

const AUDIO_FALLBACK = "Something went wrong with the audio.";
const describeRtcError = (e: unknown) => describeError(e, AUDIO_FALLBACK);
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { MicLevelMeter } from "./mic-level-meter";

export interface SpeakerLiveAudioProps {
  /** The speaker's control channel (getMediaChannel, startBroadcast, stopBroadcast go through it). */
  channel: ControlChannel;
  sessionId: string;
  broadcastState: BroadcastState;
  /** The control channel is open. */
  connected: boolean;
  /** A control action waiting for its reply: mute and pause silence the mic at once, before the server confirms. */
  pendingAction?: string;
  /** The signaling connection's cap (EARSHOT_SIGNALING_MAX_CONNECTION_SECONDS; KVS: 1 h): renewed before it. */
  signalingMaxConnectionSeconds?: number;
  /** The microphone stream while there is one (recognition captures the same stream). */
  onStream?: (stream: MediaStream | undefined) => void;
  /** The broadcast phase, for the page (recognition runs only while live). */
  onPhase?: (phase: Phase) => void;
}

export type Phase = "off" | "starting" | "live" | "stopping";

async function requestMasterChannels(channel: ControlChannel): Promise<MediaChannelMessage> {
  const reply = await channel.request({ action: "getMediaChannel" });
  if (reply.type !== "mediaChannel" || reply.role !== "MASTER") throw new Error("The server did not hand out the speaker's media channels.");
  return reply;
}

/** Loads the WebRTC module (the KVS SDK) only on the speaker page, only when needed. */
const loadMaster = () => import("@/lib/client/rtc/master");

/**
 * Go live: the microphone (with echo cancellation, noise suppression and
 * gain control), MASTER on every signaling channel of the session with one
 * peer connection per listener, then `startBroadcast` (listeners connect when
 * they hear it). Shows the mic level and how many listeners are connected.
 * Mute and pause disable the track (no renegotiation).
 */
export function SpeakerLiveAudio({ channel, broadcastState, connected, pendingAction, signalingMaxConnectionSeconds, onStream, onPhase }: SpeakerLiveAudioProps) {
  const [phase, setPhase] = useState<Phase>("off");
  const [stream, setStream] = useState<MediaStream>();
  const [peers, setPeers] = useState(0);
  const [error, setError] = useState<string>();
  const [warning, setWarning] = useState<string>();
  const masterRef = useRef<BroadcastMaster | undefined>(undefined);
  const streamRef = useRef<MediaStream | undefined>(undefined);
  const restoring = useRef(false);

  const reportStream = useEffectEvent((s: MediaStream | undefined) => onStream?.(s));
  const reportPhase = useEffectEvent((p: Phase) => onPhase?.(p));
  useEffect(() => reportStream(stream), [stream]);
  useEffect(() => reportPhase(phase), [phase]);

  const muted = broadcastState.muted || pendingAction === "muteBroadcast" || pendingAction === "endSession";
  const paused = broadcastState.status === "paused" || pendingAction === "pauseBroadcast";

  function release() {
    masterRef.current?.close();
    masterRef.current = undefined;
    stopStream(streamRef.current);
    streamRef.current = undefined;
    setStream(undefined);
    setPeers(0);
  }

  // Leaving the page or the session (ended) closes every peer connection and the mic.
  useEffect(() => () => release(), []);

  // A new shard (past ~10 listeners per channel) is pushed as a new mediaChannel: become its master too.
  const onMessage = useEffectEvent((message: ServerMessage) => {
    if (message.type !== "mediaChannel" || message.role !== "MASTER") return;
    masterRef.current?.setChannels(message).catch((e: unknown) => setWarning(describeRtcError(e)));
  });
  useEffect(() => channel.on("message", (m) => onMessage(m)), [channel]);

  // The track follows mute and pause.
  useEffect(() => {
    masterRef.current?.setMuted(muted);
    masterRef.current?.setPaused(paused);
  }, [muted, paused, stream]);

  async function goLive() {
    setError(undefined);
    setWarning(undefined);
    setPhase("starting");
    resumeAudioContext(); // in the click: the level meter's AudioContext may start
    const masterModule = loadMaster();
    let mic: MediaStream;
    try {
      mic = await openMicrophone();
    } catch (e) {
      setError(describeRtcError(e));
      setPhase("off");
      return;
    }
    streamRef.current = mic;
    setStream(mic);
    try {
      const { BroadcastMaster } = await masterModule;
      const master = new BroadcastMaster({
        stream: mic,
        refreshChannels: () => requestMasterChannels(channel),
        renewSignalingAfterMs: signalingMaxConnectionSeconds === undefined ? undefined : replacementDelayMs(signalingMaxConnectionSeconds * 1000),
      });
      masterRef.current = master;
      master.setMuted(muted);
      master.setPaused(paused);
      master.on("peersChanged", (n) => setPeers(n));
      master.on("error", (e) => setWarning(describeRtcError(e)));
      await master.setChannels(await requestMasterChannels(channel));
      await channel.request({ action: "startBroadcast" });
      setPhase("live");
    } catch (e) {
      release();
      setError(isClientError(e) && e.kind === "control" ? describeError(e) : `Could not go live. ${describeRtcError(e)}`);
      setPhase("off");
    }
  }

  async function stop() {
    setPhase("stopping");
    try {
      await channel.request({ action: "stopBroadcast" });
    } catch (e) {
      setWarning(describeError(e));
    } finally {
      release();
      setPhase("off");
    }
  }

  // After the control channel came back (its drop told listeners the broadcast stopped): re-announce.
  const restore = useEffectEvent(async (): Promise<void> => {
    const master = masterRef.current;
    if (!master || restoring.current) return;
    restoring.current = true;
    try {
      await master.setChannels(await requestMasterChannels(channel));
      await channel.request({ action: "startBroadcast" });
    } finally {
      restoring.current = false;
    }
  });
  useEffect(() => {
    if (phase === "live" && connected && !broadcastState.live) restore().catch((e: unknown) => setWarning(describeError(e)));
  }, [phase, connected, broadcastState.live]);

  const level = useAudioLevel(stream);
  const silent = muted || paused;

  return (
    <section aria-label="Microphone" data-testid="live-audio" data-phase={phase} className="flex flex-col gap-4">
      {error ? <Alert data-testid="mic-error">{error}</Alert> : null}
      {warning ? (
        <Alert tone="notice" data-testid="media-warning">
          {warning}
        </Alert>
      ) : null}

      {phase === "off" || phase === "starting" ? (
        <div className="flex flex-col gap-2">
          <Button size="xl" className="w-full" onClick={() => void goLive()} busy={phase === "starting"} disabled={!connected} data-testid="go-live-button">
            {phase === "starting" ? "Starting…" : "Go live"}
          </Button>
          <p className="text-center text-sm text-slate-600">Your browser asks for the microphone. Listeners hear you as soon as you are live.</p>
        </div>
      ) : (
        <div className="flex flex-col gap-4">
          <MicLevelMeter level={level} silent={silent} />
          <div className="flex flex-wrap items-center justify-between gap-3">
            <p className="text-sm text-slate-700" aria-live="polite">
              <span className="text-2xl font-bold tabular-nums text-slate-900" data-testid="peer-count">
                {peers}
              </span>{" "}
              {peers === 1 ? "listener connected" : "listeners connected"} to your audio
            </p>
            <Button variant="secondary" onClick={() => void stop()} busy={phase === "stopping"} data-testid="stop-broadcast-button">
              Stop broadcast
            </Button>
          </div>
        </div>
      )}
    </section>
  );
}
