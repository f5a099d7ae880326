import type { ConnectionState } from "@/lib/client/control-channel";
import { StatusPill, type Tone } from "@/components/ui/status-pill";

export type ConnectionView = ConnectionState | "idle";

const VIEW: Record<ConnectionView, { label: string; tone: Tone; pulse?: boolean }> = {
  idle: { label: "Not connected", tone: "neutral" },
  connecting: { label: "Connecting…", tone: "info", pulse: true },
  open: { label: "Connected", tone: "success" },
  reconnecting: { label: "Reconnecting…", tone: "warning", pulse: true },
  closed: { label: "Disconnected", tone: "neutral" },
};

/** The control channel's state, for people (label) and tests (data-state). */
export function ConnectionPill({ state }: { state: ConnectionView }) {
  const view = VIEW[state];
  return (
    <StatusPill tone={view.tone} pulse={view.pulse} state={state} data-testid="connection-state" role="status" aria-live="polite">
      {view.label}
    </StatusPill>
  );
}
