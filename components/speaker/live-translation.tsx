"use client";

import { useEffect, useState, useSyncExternalStore } from "react";
import type { LanguageCode } from "@/lib/core/languages";
import type { LanguageDistribution } from "@/lib/core/protocol";
import type { LanguageOffer, SessionRecognizer } from "@/lib/core/speech";
import type { SpeakerSession } from "@/lib/client/session/speaker-session";
import type { OpenTranscribe, RecognitionState } from "@/lib/client/speech/recognition";
import { useHasWebSpeech } from "./create-session-form";
import { PipelineStatus } from "./pipeline-status";
import { TranscriptDownloads } from "./transcript-downloads";
import { TranscriptPanel } from "./transcript-panel";

const IDLE: RecognitionState = { recognizer: { status: "off" }, choice: "server", lines: [], pipeline: {}, submitted: 0 };

export interface LiveTranslationProps {
  /** Makes the session's recognition (on its control channel). */
  session: Pick<SpeakerSession, "recognition">;
  sessionId: string;
  sourceLanguage: LanguageCode;
  recognizer: SessionRecognizer;
  offers: readonly LanguageOffer[];
  /** The microphone stream WebRTC sends (undefined until live). */
  stream: MediaStream | undefined;
  /** Live, neither paused nor muted: recognition runs. */
  active: boolean;
  byLanguage: LanguageDistribution;
  /** The Transcribe-protocol client (absent: only the browser's recogniser works). */
  openTranscribe?: OpenTranscribe;
}

/**
 * The speaker's live translation: recognition of the microphone (a
 * SpeakerRecognition object, read through useSyncExternalStore), its status
 * and the pipeline's per language, the live transcript, and the transcript
 * downloads. Mount it keyed by the session.
 */
export function LiveTranslation({ session, sessionId, sourceLanguage, recognizer, offers, stream, active, byLanguage, openTranscribe }: LiveTranslationProps) {
  // One object per mount (the component is keyed by the session); the props it reads do not change within a session.
  const [recognition] = useState(
    () => session.recognition({ sessionId, sourceLanguage, openTranscribe, choice: recognizer === "browser" ? "browser" : "server" }),
  );
  const webSpeech = useHasWebSpeech();

  useEffect(() => {
    recognition.attach();
    return () => recognition.dispose();
  }, [recognition]);

  const enabled = recognizer !== "off";
  useEffect(() => {
    recognition.update(stream, active && enabled);
  }, [recognition, stream, active, enabled]);

  const state = useSyncExternalStore(recognition.subscribe, recognition.getState, () => IDLE);
  const targets = offers.filter((o) => o.kind !== "source").map((o) => o.language);

  return (
    <div className="flex flex-col gap-5" data-testid="live-translation">
      {enabled ? (
        <PipelineStatus
          state={state}
          offers={offers}
          byLanguage={byLanguage}
          webSpeech={webSpeech}
          onChoice={(choice) => recognition?.setChoice(choice)}
        />
      ) : (
        <p className="text-sm text-slate-600" data-testid="recognition-off">
          Speech recognition is off for this session: listeners hear your voice, without captions or translations.
        </p>
      )}
      {enabled ? (
        <div className="flex flex-col gap-2">
          <h3 className="text-sm font-medium text-slate-800">Live transcript</h3>
          <TranscriptPanel state={state} targets={targets} />
        </div>
      ) : null}
      <TranscriptDownloads sessionId={sessionId} />
    </div>
  );
}
