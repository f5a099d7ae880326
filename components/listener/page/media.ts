import { EMBEDDED_RTC_CONFIGURATION } from "@/lib/client/rtc/signaling";
import { warmPeerConnection } from "@/lib/client/rtc/warm-peer";

/**
 * The listener page's media module, loaded with import() only when a mode
 * needs the speaker's own voice: the WebRTC viewer and the KVS SDK.
 */
export { ListenerConnection } from "@/lib/client/rtc/viewer";

/** Embedded deployments: the peer connection and its offer before the tap (lib/client/rtc/warm-peer.ts). */
export function warmViewer(): void {
  warmPeerConnection(EMBEDDED_RTC_CONFIGURATION);
}
