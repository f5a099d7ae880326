import { RtcError } from "./errors";

/**
 * The speaker's microphone, with the browser's voice processing on: echo
 * cancellation, noise suppression and automatic gain. Mono: one voice.
 */
export const SPEECH_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  channelCount: { ideal: 1 },
};

/**
 * Asks for the microphone. Rejects with an RtcError whose code says what
 * went wrong: MIC_PERMISSION_DENIED (NotAllowedError), MIC_NOT_FOUND
 * (NotFoundError), MIC_UNAVAILABLE (NotReadableError), UNSUPPORTED (no
 * mediaDevices: an insecure origin or an old browser).
 */
export async function openMicrophone(constraints: MediaTrackConstraints = SPEECH_CONSTRAINTS): Promise<MediaStream> {
  const devices = typeof navigator === "undefined" ? undefined : navigator.mediaDevices;
  if (!devices?.getUserMedia) {
    throw new RtcError(
      "UNSUPPORTED",
      typeof window !== "undefined" && !window.isSecureContext
        ? "The microphone is only available over https (or on localhost). Open this page over https."
        : undefined,
    );
  }
  let stream: MediaStream;
  try {
    stream = await devices.getUserMedia({ audio: constraints, video: false });
  } catch (error) {
    throw RtcError.fromGetUserMedia(error);
  }
  if (stream.getAudioTracks().length === 0) {
    stream.getTracks().forEach((t) => t.stop());
    throw new RtcError("MIC_NOT_FOUND");
  }
  return stream;
}

/** Stops every track (the browser's recording indicator goes off). */
export function stopStream(stream: MediaStream | undefined): void {
  stream?.getTracks().forEach((t) => t.stop());
}
