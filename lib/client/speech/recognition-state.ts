import type { LanguageCode } from "../../core/languages";
import type { PipelineLanguageStatus, RecognizerMessage, SegmentProcessedMessage } from "../../core/protocol";
import type { RecognizerResult } from "../../core/segmenter";

/**
 * The speaker's recognition state and the pure rules over it: what
 * SpeakerRecognition (recognition.ts) publishes, and the Transcribe-protocol
 * connection it is given (transcribe-client.ts).
 */

export type RecognizerChoice = "server" | "browser";

export type RecognitionStatus =
  /** Not running: not live, paused, muted, or no recogniser. `reason` says which when it is not obvious. */
  | { status: "off"; reason?: string }
  | { status: "connecting"; engine: RecognitionEngine }
  | { status: "listening"; engine: RecognitionEngine }
  | { status: "error"; engine?: RecognitionEngine; message: string; retrying: boolean };

export type RecognitionEngine = "local" | "aws" | "browser";

export interface TranscriptLine {
  seq: number;
  text: string;
  /** ms from the start of recognition. */
  startMs: number;
  endMs: number;
  /** Translations the pipeline reported (segmentProcessed), by language. */
  translations: Partial<Record<LanguageCode, string>>;
  /** Caption lag per language the pipeline reported for this segment (phrase end -> caption sent), ms. */
  lags: Partial<Record<LanguageCode, number>>;
}

export interface LanguagePipelineState extends PipelineLanguageStatus {
  /** The seq of the segment these figures are from. */
  seq: number;
  /** Whether synthesized speech was produced for the last segment that had speech listeners. */
  speechProduced: boolean;
}

export interface RecognitionState {
  recognizer: RecognitionStatus;
  choice: RecognizerChoice;
  /** Final segments, oldest first (the last MAX_LINES). */
  lines: TranscriptLine[];
  /** The current partial, if any. */
  partial?: { seq: number; text: string };
  /** Per language, from the last segmentProcessed. */
  pipeline: Partial<Record<LanguageCode, LanguagePipelineState>>;
  /** The last refusal of a submitted segment (rate limit, ...). */
  submitError?: string;
  /** Segments submitted and accepted, for the status panel. */
  submitted: number;
}

/** What the Transcribe-protocol client must give (lib/client/speech/transcribe-client.ts, adapted in the page). */
export interface TranscribeConnection {
  /** One chunk of 16-bit PCM at the recogniser's sample rate. */
  send(pcm: Int16Array): void;
  /** Ends the audio (the protocol's empty AudioEvent) and closes once the last results arrived. */
  end(): Promise<void>;
  /** Closes at once. */
  close(): void;
}

export interface TranscribeHandlers {
  onResult(result: RecognizerResult): void;
  /** The stream ended: `error` when it dropped (the recognition reopens it), none after end()/close(). */
  onClose(error?: Error): void;
}

export type OpenTranscribe = (recognizer: RecognizerMessage, handlers: TranscribeHandlers) => Promise<TranscribeConnection>;

/** Lines kept in the panel. */
export const MAX_LINES = 200;

/** A segmentProcessed push: the per-language pipeline status, and the translations and lags of its line. */
export function withSegmentProcessed(state: RecognitionState, message: SegmentProcessedMessage): Pick<RecognitionState, "pipeline" | "lines"> {
  const pipeline = { ...state.pipeline };
  const translations: Partial<Record<LanguageCode, string>> = {};
  const lags: Partial<Record<LanguageCode, number>> = {};
  for (const status of message.languages) {
    if (status.captionLagMs !== undefined) lags[status.language] = status.captionLagMs;
    const before = pipeline[status.language];
    const speechProduced = status.speechListeners > 0 ? status.speechLagMs !== undefined && !status.error : (before?.speechProduced ?? false);
    pipeline[status.language] = { ...status, seq: message.seq, speechProduced };
    if (status.text) translations[status.language] = status.text;
  }
  const lines = state.lines.map((l) => (l.seq === message.seq ? { ...l, translations: { ...l.translations, ...translations }, lags: { ...l.lags, ...lags } } : l));
  return { pipeline, lines };
}
