import type { BroadcastState } from "@/lib/core/protocol";
import { StatusPill, type Tone } from "@/components/ui/status-pill";

function view(state: BroadcastState): { key: string; label: string; tone: Tone } {
  if (state.status === "ended") return { key: "ended", label: "Ended", tone: "neutral" };
  if (state.status === "paused") return { key: "paused", label: "Paused", tone: "warning" };
  if (state.muted) return { key: "muted", label: "Muted", tone: "warning" };
  if (state.live) return { key: "live", label: "On air", tone: "live" };
  return { key: "off-air", label: "Not on air", tone: "neutral" };
}

/** What listeners currently get from this speaker. */
export function BroadcastStatePill({ state }: { state: BroadcastState }) {
  const v = view(state);
  return (
    <StatusPill tone={v.tone} state={v.key} data-testid="broadcast-state" role="status" aria-live="polite">
      {v.label}
    </StatusPill>
  );
}
