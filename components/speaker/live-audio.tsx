"use client";

import type { LiveAudioState } from "@/lib/client/session/speaker-state";
import { useAudioLevel } from "@/lib/client/media/use-audio-level";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { MicLevelMeter } from "./mic-level-meter";

export type { LivePhase as Phase } from "@/lib/client/session/speaker-state";

export interface SpeakerLiveAudioProps {
  /** The live audio's state (SpeakerSession: microphone, peer connections, phase). */
  live: LiveAudioState;
  /** The control channel is open. */
  connected: boolean;
  /** The track sends silence (muted or paused, or about to be). */
  silent: boolean;
  onGoLive: () => void;
  onStop: () => void;
}

/**
 * Go live (SpeakerSession.goLive: the microphone, MASTER on every signaling
 * channel of the session, then startBroadcast) and stop. Shows the mic level
 * and how many listeners are connected.
 */
export function SpeakerLiveAudio({ live, connected, silent, onGoLive, onStop }: SpeakerLiveAudioProps) {
  const { phase, stream, peers, error, warning } = live;

  const level = useAudioLevel(stream);

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
          <Button size="xl" className="w-full" onClick={onGoLive} busy={phase === "starting"} disabled={!connected} data-testid="go-live-button">
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
            <Button variant="secondary" onClick={onStop} busy={phase === "stopping"} data-testid="stop-broadcast-button">
              Stop broadcast
            </Button>
          </div>
        </div>
      )}
    </section>
  );
}
