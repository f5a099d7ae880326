import type { OpenTranscribe } from "@/lib/client/speech/recognition";

/**
 * The Transcribe-protocol stream the speaker's recognition opens
 * (lib/client/speech/transcribe-client.ts, adapted to SpeakerRecognition's
 * port). Undefined until that client is in: the browser's recogniser still works.
 */
export const openTranscribe: OpenTranscribe | undefined = undefined;
