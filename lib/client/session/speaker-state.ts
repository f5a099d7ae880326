import type { LanguageCode } from "../../core/languages";
import type { BroadcastState, LanguageDistribution, ServerMessage } from "../../core/protocol";
import type { LanguageOffer, SessionRecognizer } from "../../core/speech";
import type { ConnectionState } from "../control-channel";

/**
 * The speaker's state and the pure rules over it (no DOM, no sockets).
 * SpeakerSession holds the state; the view reads it through useSession.
 */

/** A live session of this speaker: created on the page, or re-attached after a reload (checked on the server). */
export interface SpeakerSessionInfo {
  sessionId: string;
  title: string;
  sourceLanguage: LanguageCode;
  joinUrl: string;
  targetLanguages: LanguageCode[];
  recognizer: SessionRecognizer;
  /** What each language of the session gets, source first. */
  offers: LanguageOffer[];
}

export interface ListenerCounts {
  total: number;
  byLanguage: LanguageDistribution;
  /** Listeners connected to the speaker's voice (media slots). */
  originalListeners: number;
}

export const NO_COUNTS: ListenerCounts = { total: 0, byLanguage: {}, originalListeners: 0 };

export type BroadcastAction = "pauseBroadcast" | "resumeBroadcast" | "muteBroadcast" | "unmuteBroadcast";

/** The control action waiting for its reply. */
export type SpeakerBusy = BroadcastAction | "endSession" | "createSession";

/** The microphone and WebRTC broadcast: off → starting → live → stopping → off. */
export type LivePhase = "off" | "starting" | "live" | "stopping";

export interface LiveAudioState {
  phase: LivePhase;
  /** The microphone while there is one (recognition captures the same stream). */
  stream?: MediaStream;
  /** Listeners with a connected peer connection. */
  peers: number;
  /** Going live failed. */
  error?: string;
  /** Something went wrong while live (a shard, a restore, the stop). */
  warning?: string;
}

export const LIVE_OFF: LiveAudioState = { phase: "off", peers: 0 };

export interface SpeakerState {
  /** `idle` before the first connect. */
  connection: ConnectionState | "idle";
  session?: SpeakerSessionInfo;
  broadcast?: BroadcastState;
  counts: ListenerCounts;
  /** The session that just ended, for its transcript links. */
  ended?: { sessionId: string; listeners: number };
  /** The first connect (or a Try again) failed. */
  connectError?: string;
  error?: string;
  busy?: SpeakerBusy;
  live: LiveAudioState;
  /** The track sends silence: muted or paused, or about to be (the reply is on its way). */
  silent: boolean;
  /** Live, neither paused nor muted, nor about to be: recognition runs. */
  speaking: boolean;
}

export const INITIAL_SPEAKER_STATE: Omit<SpeakerState, "silent" | "speaking"> = { connection: "idle", counts: NO_COUNTS, live: LIVE_OFF };

/** Mute and pause silence the mic at once, before the server confirms; ending the session mutes it too. */
export function trackSilence(broadcast: BroadcastState | undefined, busy: SpeakerBusy | undefined): { muted: boolean; paused: boolean } {
  return {
    muted: !!broadcast?.muted || busy === "muteBroadcast" || busy === "endSession",
    paused: broadcast?.status === "paused" || busy === "pauseBroadcast",
  };
}

/** The derived fields, from the rest of the state. */
export function withDerived(s: Omit<SpeakerState, "silent" | "speaking">): SpeakerState {
  const { muted, paused } = trackSilence(s.broadcast, s.busy);
  const b = s.broadcast;
  const speaking = s.live.phase === "live" && !!b && b.status === "active" && !b.muted && s.busy !== "pauseBroadcast" && s.busy !== "muteBroadcast";
  return { ...s, silent: muted || paused, speaking };
}

/** A sessionStatus reply or push as listener counts. */
export function countsOf(message: Extract<ServerMessage, { type: "sessionStatus" }>): ListenerCounts {
  return {
    total: Math.max(0, message.listenerCount),
    byLanguage: message.languageDistribution,
    originalListeners: Math.max(0, message.originalListeners),
  };
}

/** The pushes that carry a new broadcast state. */
export function broadcastStateOf(message: ServerMessage): BroadcastState | undefined {
  switch (message.type) {
    case "sessionStatus":
    case "broadcastPaused":
    case "broadcastResumed":
    case "broadcastMuted":
    case "broadcastUnmuted":
    case "broadcastStarted":
    case "broadcastStopped":
      return message.broadcastState;
    default:
      return undefined;
  }
}
