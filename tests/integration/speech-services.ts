import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { createSpeechServices } from "../../lib/server/speech/engines";
import type { SpeechServices } from "../../lib/server/speech/ports";

/**
 * The real local engines for an integration test: the runtime's own (it
 * starts them and serves /transcribe), else a set made from its config.
 * Either way translation and synthesis go through the AWS SDK clients
 * answered in-process by Apertium and espeak-ng.
 */
export async function speechServicesForTests(runtime: EmbeddedRuntime): Promise<SpeechServices & { close?(): Promise<void> }> {
  const own = runtime.services.speech;
  if (own?.translator && own.synthesizer) return own;
  const made = await createSpeechServices(runtime.config);
  if (made.engines.mt !== "local" || made.engines.tts !== "local") {
    throw new Error(`the local engines are not installed (${made.notices.join("; ")}): run npm run speech:install`);
  }
  return made;
}
