import type { LanguageCode } from "../../core/languages";
import type { MediaChannelMessage } from "../../core/protocol";
import { playbackElement, playStream } from "../media/playback";
import type { MediaState } from "./listener-state";

/**
 * What ListenerSession needs from the browser and from the media module, as
 * interfaces with the browser's defaults (the tests pass fakes): the media
 * module's viewer (loaded with import() only when a mode needs the original),
 * the `<audio>` element that plays it, the device's voice (speechSynthesis),
 * the session-open check (GET /api/sessions/{id}) and the tab's clientKey
 * (sessionStorage).
 */

export interface MediaModule {
  ListenerConnection: new (options: {
    requestChannel: () => Promise<MediaChannelMessage>;
    isFatal?: (error: unknown) => boolean;
  }) => MediaConnection;
}

/** The part of lib/client/rtc/viewer.ts ListenerConnection the session uses. */
export interface MediaConnection {
  readonly state: MediaState;
  on(event: "stateChanged", handler: (state: MediaState) => void): () => void;
  on(event: "stream", handler: (stream: MediaStream | undefined) => void): () => void;
  start(): void;
  restartUnlessFlowing(): Promise<void>;
  stop(): void;
  removeAllListeners(): void;
}

export interface AudioOutput {
  play(stream: MediaStream | undefined): Promise<boolean>;
  set(volume: number, muted: boolean): void;
}

export interface DeviceVoice {
  speak(text: string, language: LanguageCode): void;
  cancel(): void;
}

/** GET /api/sessions/{id}: whether the session can still be listened to. */
export async function defaultSessionIsOpen(sessionId: string): Promise<boolean> {
  const response = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}`, { cache: "no-store" });
  if (response.status === 404) return false;
  if (!response.ok) return true; // rate limited or a hiccup: keep trying
  const body = (await response.json()) as { status?: string };
  return body.status !== "ended";
}

/** The page's one <audio> element (lib/client/media/playback.ts). */
export const elementOutput: AudioOutput = {
  play: playStream,
  set(volume, muted) {
    const el = playbackElement();
    el.volume = volume;
    el.muted = muted;
  },
};

/** speechSynthesis, where the browser has it. */
export const browserVoice: DeviceVoice = {
  speak(text, language) {
    if (typeof speechSynthesis === "undefined") return;
    const u = new SpeechSynthesisUtterance(text);
    u.lang = language;
    const voice = speechSynthesis.getVoices().find((v) => v.lang.toLowerCase().startsWith(language));
    if (voice) u.voice = voice;
    speechSynthesis.speak(u);
  },
  cancel() {
    if (typeof speechSynthesis !== "undefined") speechSynthesis.cancel();
  },
};

/**
 * A random key for this tab and session. Re-joining with it from a new
 * connection replaces the old one on the server, so a reconnect never counts
 * this listener twice. Per tab (sessionStorage): two tabs are two listeners.
 */
export function clientKeyFor(sessionId: string, storage: Pick<Storage, "getItem" | "setItem"> | undefined = safeSessionStorage()): string {
  const name = `earshot.clientKey.${sessionId}`;
  try {
    const saved = storage?.getItem(name);
    if (saved && /^[A-Za-z0-9_-]{16,64}$/.test(saved)) return saved;
  } catch {
    // storage blocked: a key for this page only
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  try {
    storage?.setItem(name, key);
  } catch {
    // as above
  }
  return key;
}

function safeSessionStorage(): Storage | undefined {
  try {
    return typeof sessionStorage === "undefined" ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}
