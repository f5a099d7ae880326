/**
 * The listener page's media module, loaded with import() only when a mode
 * needs the speaker's own voice: the WebRTC viewer and the KVS SDK.
 */
export { ListenerConnection } from "@/lib/client/rtc/viewer";
