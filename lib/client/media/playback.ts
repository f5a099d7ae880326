import { resumeAudioContext } from "./level";

/**
 * The listener's one `<audio>` element. Browsers block audio that starts
 * without a user gesture (iOS Safari most strictly): the element must first
 * be played from inside a click. The Listen click calls unlockPlayback(),
 * which plays this element (with an empty stream) and resumes the page's
 * AudioContext; when the speaker's stream arrives later (after the control
 * join and WebRTC setup) it goes into the same, already-unlocked element.
 *
 * The element lives outside React (appended to <body>, hidden) so that it
 * exists at click time, before the player component mounts.
 */

let element: HTMLAudioElement | undefined;

export function playbackElement(): HTMLAudioElement {
  if (element && element.isConnected) return element;
  element = document.createElement("audio");
  element.autoplay = true;
  element.setAttribute("playsinline", "");
  element.dataset.earshotPlayback = "";
  element.hidden = true;
  document.body.appendChild(element);
  return element;
}

/** Call synchronously from the click (or tap) that starts listening. */
export function unlockPlayback(): void {
  if (typeof document === "undefined") return;
  const el = playbackElement();
  if (!el.srcObject && typeof MediaStream !== "undefined") el.srcObject = new MediaStream();
  void el.play().catch(() => undefined);
  // The AudioContext (level meter only) can take tens of ms to create: not before the connection starts.
  // Browsers keep the click's activation for a moment, so it may still start.
  setTimeout(resumeAudioContext, 0);
}

/** Plays the stream through the element (undefined detaches it). Resolves false when the browser blocked playback. */
export async function playStream(stream: MediaStream | undefined): Promise<boolean> {
  const el = playbackElement();
  if (el.srcObject !== stream) el.srcObject = stream ?? null;
  if (!stream) return true;
  try {
    await el.play();
    return true;
  } catch (error) {
    // AbortError: a newer srcObject replaced this one; not a block.
    return error instanceof DOMException && error.name === "AbortError";
  }
}
