import type { SignalingAccess } from "@/lib/core/protocol";
import { rtcConfigurationBeforeGrant } from "@/lib/client/rtc/signaling";
import { warmPeerConnection } from "@/lib/client/rtc/warm-peer";

/**
 * The listener page's media module, loaded with import() only when a mode
 * needs the speaker's own voice: the WebRTC viewer and the KVS SDK.
 */
export { ListenerConnection } from "@/lib/client/rtc/viewer";

/** The peer connection and its offer before the tap, where the signaling's RTC configuration is known (lib/client/rtc/warm-peer.ts). */
export function warmViewer(signaling: SignalingAccess["kind"]): void {
  const configuration = rtcConfigurationBeforeGrant(signaling);
  if (configuration) warmPeerConnection(configuration);
}
