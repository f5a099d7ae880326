import type { BroadcastState } from "@/lib/core/protocol";
import type { ControlChannel } from "@/lib/client/control-channel";

export interface SpeakerMediaSlotProps {
  /** The speaker's control channel (getMediaChannel, startBroadcast, stopBroadcast go through it). */
  channel: ControlChannel;
  sessionId: string;
  broadcastState: BroadcastState;
  /** The control channel is open. */
  connected: boolean;
}

/**
 * ───── MEDIA SLOT (speaker) ─────
 * Microphone picker, level meter and Go live / Stop go here (WebRTC master,
 * one peer connection per viewer). It gets the channel and the broadcast
 * state; nothing else on the page needs to change. Until then it only
 * reserves the space.
 */
export function SpeakerMediaSlot({ broadcastState }: SpeakerMediaSlotProps) {
  return (
    <section
      aria-label="Microphone"
      data-testid="media-controls-slot"
      className="rounded-xl border border-dashed border-slate-300 px-4 py-3 text-center text-sm text-slate-500"
    >
      {broadcastState.live ? "Microphone is live." : "Microphone controls will appear here."}
    </section>
  );
}
