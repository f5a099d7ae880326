import { TONE_WAV } from "./support/env";
import { writeToneWav } from "./support/tone";

/** Runs before the browser starts: the fake microphone's WAV must exist. */
export default function globalSetup(): void {
  writeToneWav(TONE_WAV);
}
