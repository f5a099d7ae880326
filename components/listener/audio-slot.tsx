import type { BroadcastState } from "@/lib/core/protocol";
import type { LanguageCode } from "@/lib/core/languages";
import type { ControlChannel } from "@/lib/client/control-channel";

export interface ListenerAudioSlotProps {
  /** The joined control channel (getMediaChannel goes through it). */
  channel?: ControlChannel;
  sessionId: string;
  language: LanguageCode;
  broadcastState?: BroadcastState;
  /** True while the listener is joined. */
  active: boolean;
}

/**
 * ───── MEDIA SLOT (listener) ─────
 * The audio player goes here: WebRTC viewer, the <audio> element, volume and
 * mute, and a "tap to listen" for browsers that block autoplay. It gets the
 * joined channel and the broadcast state; nothing else on the page needs to
 * change. Until then it only reserves the space.
 */
export function ListenerAudioSlot({ active, broadcastState }: ListenerAudioSlotProps) {
  if (!active) return null;
  return (
    <section
      aria-label="Audio"
      data-testid="audio-player-slot"
      className="rounded-xl border border-dashed border-slate-300 px-4 py-3 text-center text-sm text-slate-500"
    >
      {broadcastState?.live ? "Audio player" : "Audio starts when the speaker goes live."}
    </section>
  );
}
