import type { OpenTranscribe } from "@/lib/client/speech/recognition";

/**
 * The Transcribe-protocol stream the speaker's recognition opens
 * (lib/client/speech/transcribe-client.ts), loaded when recognition first
 * starts: the client brings the SigV4 signer of the WebRTC SDK, which the
 * page loads only when it goes live.
 */
export const openTranscribe: OpenTranscribe = async (recognizer, handlers) => {
  const client = await import("@/lib/client/speech/transcribe-client");
  return client.openTranscribe(recognizer, handlers);
};
