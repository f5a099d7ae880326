import type { LanguageCode } from "../../core/languages";
import type { BroadcastState, CaptionMessage } from "../../core/protocol";
import type { LanguageOffer } from "../../core/speech";
import type { ConnectionState } from "../control-channel";

/**
 * The listener's state and the pure rules over it (no DOM, no sockets): what
 * each language offers and which listening modes it allows, which modes need
 * the original (a WebRTC connection) or synthesized speech, the caption
 * lines, and the status the page shows. ListenerSession holds the state; the
 * unit tests drive these functions directly.
 */

export type ListenPhase = "ready" | "joining" | "listening" | "left" | "ended";

/** Same as lib/client/rtc/viewer.ts ListenerMediaState (kept here so this module has no WebRTC import). */
export type MediaState = "idle" | "connecting" | "live" | "reconnecting" | "failed";

/**
 * - `translation`: synthesized speech only; no WebRTC at all (no media slot);
 * - `mix`: synthesized speech over the original, ducked about -18 dB;
 * - `original`: the speaker's voice, with captions when the language has them;
 * - `device`: captions read aloud by the device's own voice; the original not connected.
 */
export type ListenMode = "translation" | "mix" | "original" | "device";

/** What a language gives a listener: a session offer, or `original` for a language the session does not translate into. */
export type OfferKind = LanguageOffer["kind"] | "original";

export interface ListenOffer {
  language: LanguageCode;
  kind: OfferKind;
  captions: boolean;
  voiceNote?: string;
}

/** Original (WebRTC) level under translated speech: -18 dB. */
export const DUCKED_GAIN = 10 ** (-18 / 20);

export function offerFor(offers: readonly LanguageOffer[], language: LanguageCode): ListenOffer {
  const offer = offers.find((o) => o.language === language);
  return offer ? { ...offer } : { language, kind: "original", captions: false };
}

/** The modes a language allows, the default first. `deviceVoice`: the device can speak this language. */
export function modesFor(offer: ListenOffer, deviceVoice = false): ListenMode[] {
  switch (offer.kind) {
    case "voice":
      return ["translation", "mix", "original", ...(deviceVoice ? (["device"] as const) : [])];
    case "captions":
      return ["original", ...(deviceVoice ? (["device"] as const) : [])];
    default:
      return ["original"];
  }
}

/** The mode to use: the one chosen when the language allows it, else the language's default. */
export function effectiveMode(offer: ListenOffer, chosen: ListenMode | undefined, deviceVoice = false): ListenMode {
  const modes = modesFor(offer, deviceVoice);
  return chosen && modes.includes(chosen) ? chosen : modes[0]!;
}

/** The mode needs the speaker's own voice: a WebRTC connection and a media slot. */
export function needsOriginal(mode: ListenMode): boolean {
  return mode === "original" || mode === "mix";
}

/** The mode wants the server's synthesized speech (`speech: true` on join and changeLanguage). */
export function wantsSpeech(mode: ListenMode): boolean {
  return mode === "translation" || mode === "mix";
}

export const MODE_LABELS: Record<ListenMode, string> = {
  translation: "Translation only",
  mix: "Translation over the original",
  original: "Original only",
  device: "My device's voice",
};

/** What a language gives, for the picker ("voice", "captions", "original only"). */
export function offerLabel(offer: ListenOffer): string {
  switch (offer.kind) {
    case "source":
      return offer.captions ? "original, live captions" : "original";
    case "voice":
      return offer.voiceNote ? `voice (${offer.voiceNote}), captions` : "voice, captions";
    case "captions":
      return "captions, original audio";
    default:
      return "original only";
  }
}

// ---------------------------------------------------------------------------
// Captions

export interface CaptionLine {
  seq: number;
  text: string;
  final: boolean;
}

export interface CaptionsState {
  language?: LanguageCode;
  /** The line being said (a partial, or the latest final). */
  current?: CaptionLine;
  /** Earlier final lines, oldest first. */
  history: CaptionLine[];
}

export const MAX_CAPTION_HISTORY = 50;

export const EMPTY_CAPTIONS: CaptionsState = { history: [] };

/**
 * Adds a caption: a line of the current seq replaces it (a partial by the
 * next partial or its final; never a final by a partial); a later seq moves a
 * final current line into the history; a late final of an earlier seq goes
 * into the history in order. Lines of another language start over.
 */
export function applyCaption(state: CaptionsState, message: Pick<CaptionMessage, "seq" | "text" | "final" | "language">, max = MAX_CAPTION_HISTORY): CaptionsState {
  const line: CaptionLine = { seq: message.seq, text: message.text, final: message.final };
  if (state.language !== undefined && state.language !== message.language) return { language: message.language, current: line, history: [] };
  const language = message.language;
  const current = state.current;
  if (!current) return { language, current: line, history: state.history };
  if (line.seq === current.seq) {
    if (current.final && !line.final) return state;
    return { language, current: line, history: state.history };
  }
  if (line.seq > current.seq) {
    const history = current.final ? [...state.history, current].slice(-max) : state.history;
    return { language, current: line, history };
  }
  // An earlier seq: only its final matters, in order in the history.
  if (!line.final || state.history.some((h) => h.seq === line.seq)) return state;
  const history = [...state.history, line].sort((a, b) => a.seq - b.seq).slice(-max);
  return { language, current, history };
}

// ---------------------------------------------------------------------------
// Status

export type Tone = "neutral" | "info" | "warning" | "danger" | "live";

export interface StatusView {
  state: string;
  label: string;
  tone: Tone;
  pulse?: boolean;
}

/**
 * The status pill. While listening, a mode without the original is live as
 * soon as the control channel is open and the speaker on air; with the
 * original it follows the audio connection.
 */
export function statusOf(s: {
  phase: ListenPhase;
  connection: ConnectionState;
  broadcast?: BroadcastState;
  media: MediaState;
  mode: ListenMode;
}): StatusView {
  if (s.phase === "ready") return { state: "idle", label: "Ready to listen", tone: "neutral" };
  if (s.phase === "left") return { state: "left", label: "You left", tone: "neutral" };
  if (s.phase === "ended") return { state: "ended", label: "Session ended", tone: "neutral" };
  if (s.phase === "joining" || s.connection === "connecting") return { state: "connecting", label: "Connecting…", tone: "info", pulse: true };
  if (s.connection === "reconnecting") return { state: "reconnecting", label: "Reconnecting…", tone: "warning", pulse: true };
  if (s.connection === "closed") return { state: "disconnected", label: "Disconnected", tone: "danger" };
  if (s.broadcast?.status === "paused") return { state: "paused", label: "Paused by the speaker", tone: "warning" };
  if (s.broadcast?.muted) return { state: "muted", label: "Muted by the speaker", tone: "warning" };
  const original = needsOriginal(s.mode);
  if (!s.broadcast?.live && !(original && s.media === "live")) return { state: "waiting", label: "Waiting for the speaker", tone: "info", pulse: true };
  if (!original) return { state: "live", label: "Live", tone: "live" };
  if (s.media === "reconnecting") return { state: "reconnecting", label: "Reconnecting…", tone: "warning", pulse: true };
  if (s.media === "failed") return { state: "failed", label: "No audio", tone: "danger" };
  if (s.media !== "live") return { state: "connecting", label: "Connecting…", tone: "info", pulse: true };
  return { state: "live", label: "Live", tone: "live" };
}

/** The error codes after which the session is gone (no point re-joining): the one check, in lib/client/errors.ts. */
export { isSessionGone } from "../errors";

/** What ListenerSession publishes (subscribe / getSnapshot): one typed state for the view. */
export interface ListenerState {
  phase: ListenPhase;
  connection: ConnectionState;
  broadcast?: BroadcastState;
  listenerCount: number;
  language: LanguageCode;
  offers: LanguageOffer[];
  offer: ListenOffer;
  /** Modes this language allows, default first. */
  modes: ListenMode[];
  mode: ListenMode;
  /** The audio connection to the speaker (idle when the mode has none). */
  media: MediaState;
  stream?: MediaStream;
  /** The browser blocked playback of the original: a tap is needed. */
  audioBlocked: boolean;
  captions: CaptionsState;
  /** The seq whose translated speech is heard now. */
  speaking?: number;
  volume: number;
  muted: boolean;
  /** A language or mode change is on its way to the server. */
  switching: boolean;
  error?: string;
  status: StatusView;
}
