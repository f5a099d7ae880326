import type { BroadcastState } from "@/lib/core/protocol";
import type { BroadcastAction } from "@/lib/client/session/speaker-state";
import { Button } from "@/components/ui/button";

export type { BroadcastAction };

/** Pause/resume, mute/unmute and End. Each button says what it will do. */
export function BroadcastControls({
  state,
  disabled,
  busy,
  onAction,
  onEnd,
}: {
  state: BroadcastState;
  disabled: boolean;
  /** The action waiting for its reply. */
  busy?: BroadcastAction | "endSession";
  onAction: (action: BroadcastAction) => void;
  onEnd: () => void;
}) {
  const paused = state.status === "paused";
  const off = disabled || busy !== undefined;
  return (
    <div className="grid grid-cols-2 gap-3">
      {paused ? (
        <Button size="lg" onClick={() => onAction("resumeBroadcast")} disabled={off} busy={busy === "resumeBroadcast"} data-testid="resume-button">
          Resume
        </Button>
      ) : (
        <Button
          variant="secondary"
          size="lg"
          onClick={() => onAction("pauseBroadcast")}
          disabled={off}
          busy={busy === "pauseBroadcast"}
          data-testid="pause-button"
        >
          Pause
        </Button>
      )}
      {state.muted ? (
        <Button size="lg" onClick={() => onAction("unmuteBroadcast")} disabled={off} busy={busy === "unmuteBroadcast"} data-testid="unmute-button">
          Unmute
        </Button>
      ) : (
        <Button
          variant="secondary"
          size="lg"
          onClick={() => onAction("muteBroadcast")}
          disabled={off}
          busy={busy === "muteBroadcast"}
          data-testid="mute-button"
        >
          Mute
        </Button>
      )}
      <Button variant="danger" size="lg" className="col-span-2" onClick={onEnd} disabled={off} data-testid="end-session-button">
        End session
      </Button>
    </div>
  );
}
