import { TranslateClient, TranslateTextCommand } from "@aws-sdk/client-translate";
import { PollyClient, SynthesizeSpeechCommand, type SynthesizeSpeechCommandInput, type VoiceId } from "@aws-sdk/client-polly";
import { EarshotError, isEarshotError } from "../../../core/errors";
import type { LanguageCode } from "../../../core/languages";
import { SYNTHESIZER_VOICES, type SpeechEngines, type VoiceInfo } from "../../../core/speech";
import type { Config } from "../../config";
import { getConfig } from "../../config";
import type { Logger } from "../../control/ports";
import { createLogger } from "../../logger";
import { processSpeech } from "../../services";
import type { SpeechServices, SynthesizedSpeech, Synthesizer, Translator } from "../ports";
import { ApertiumTranslator } from "./apertium";
import { detectInstalled, speechStatus, type InstalledEngines } from "./availability";
import { EspeakSynthesizer } from "./espeak";
import { LocalPollyHandler, LocalTranslateHandler } from "./local-aws";
import { mp3DurationMs } from "./mp3";
import { startPocketsphinx, type PocketsphinxOptions, type Utterance } from "./pocketsphinx";

export { detectInstalled, speechStatus, type InstalledEngines, type SpeechStatus } from "./availability";
export { startPocketsphinx, type RecognitionStream, type RecognitionHandlers, type Utterance } from "./pocketsphinx";

/**
 * pocketsphinx as the embedded /transcribe endpoint's recogniser factory:
 * close() ends the input (the last utterance still comes out) and kills the
 * process if it has not exited within `killAfterMs`.
 */
export function pocketsphinxRecognizer(options: PocketsphinxOptions & { killAfterMs?: number } = {}) {
  return (handlers: { onUtterance(u: Utterance): void; onError(error: Error): void }) => {
    const stream = startPocketsphinx(handlers, options);
    return {
      write: (pcm: Uint8Array) => stream.write(pcm),
      close: async () => {
        const force = setTimeout(() => stream.kill(), options.killAfterMs ?? 5000);
        force.unref();
        try {
          await stream.end();
        } finally {
          clearTimeout(force);
        }
      },
    };
  };
}

/**
 * The speech engines from config: translation and synthesis always through
 * the AWS SDK clients (Amazon Translate, Amazon Polly). With `local` engines
 * the clients' request handler answers in-process from Apertium and
 * espeak-ng, so the code path the cloud runs is the one that runs here.
 * Local engines that are not installed are off, with a notice saying how to
 * install them: Earshot starts either way.
 */

export interface ManagedSpeechServices extends SpeechServices {
  /** The start-up banner's line ("recognition pocketsphinx (en) · translation Apertium (es ca gl eo) · voices espeak-ng"). */
  describe(): string;
  /** Local engines, for tests and measurements. */
  local: { apertium?: ApertiumTranslator; espeak?: EspeakSynthesizer };
  /** Stops every engine process. */
  close(): Promise<void>;
}

export interface SpeechServicesOptions {
  logger?: Logger;
  /** What is installed (default: detected now, on `path`). */
  installed?: InstalledEngines;
  /** Where to look for the engines' binaries (default: process.env.PATH). */
  path?: string;
  /** The embedded /transcribe endpoint's URL for a speaker (set by the runtime when recognition is local). */
  recognizerUrl?: (sessionId: string, speakerId: string) => Promise<string | undefined>;
  /** Start the Apertium chains now, in the background (default true). */
  warm?: boolean;
}

/** The in-process clients sign with these; nothing checks them, and no request leaves the process. */
const IN_PROCESS_CREDENTIALS = { accessKeyId: "EARSHOTLOCAL", secretAccessKey: "earshot-in-process" };

/** Polly's mp3 at 22.05 kHz; the local synthesizer uses espeak-ng's own 22.05 kHz. */
const SAMPLE_RATE = "22050";

export async function createSpeechServices(config: Config, options: SpeechServicesOptions = {}): Promise<ManagedSpeechServices> {
  const logger = options.logger ?? createLogger("speech");
  const wantsLocal = config.speech.asr === "local" || config.speech.mt === "local" || config.speech.tts === "local";
  const installed = options.installed ?? (wantsLocal ? detectInstalled({ path: options.path }) : NOTHING_INSTALLED);
  const status = speechStatus(config, installed);
  const { engines } = status;
  const closers: (() => void)[] = [];
  const local: ManagedSpeechServices["local"] = {};

  let translator: Translator | undefined;
  if (engines.mt !== "off") {
    let client: TranslateClient;
    if (engines.mt === "local") {
      const apertium = new ApertiumTranslator(status.apertiumLanguages, logger);
      local.apertium = apertium;
      closers.push(() => apertium.close());
      client = new TranslateClient({
        region: config.aws.region,
        credentials: IN_PROCESS_CREDENTIALS,
        requestHandler: new LocalTranslateHandler((text, source, target) => apertium.translate(text, source, target)),
        maxAttempts: 2,
      });
      if (options.warm !== false) {
        const started = Date.now();
        void apertium.warm().then(() => logger.info("apertium ready", { pairs: apertium.languages, ms: Date.now() - started }));
      }
    } else {
      client = new TranslateClient({ region: config.aws.region });
    }
    closers.push(() => client.destroy());
    translator = sdkTranslator(client);
  }

  let synthesizer: Synthesizer | undefined;
  if (engines.tts !== "off") {
    let client: PollyClient;
    let voices: Partial<Record<LanguageCode, VoiceInfo>>;
    if (engines.tts === "local") {
      const espeak = new EspeakSynthesizer();
      local.espeak = espeak;
      closers.push(() => espeak.close());
      client = new PollyClient({
        region: config.aws.region,
        credentials: IN_PROCESS_CREDENTIALS,
        requestHandler: new LocalPollyHandler(async (text, voiceId) => (await espeak.synthesize(text, voiceId)).audio),
        maxAttempts: 2,
      });
      voices = SYNTHESIZER_VOICES.local;
    } else {
      client = new PollyClient({ region: config.aws.region });
      voices = { ...SYNTHESIZER_VOICES.aws, ...config.speech.pollyVoices };
    }
    closers.push(() => client.destroy());
    synthesizer = sdkSynthesizer(client, voices);
  }

  const recognizerUrl =
    engines.asr === "local" && options.recognizerUrl
      ? options.recognizerUrl
      : async () => undefined;

  let closed = false;
  return {
    engines,
    translator,
    synthesizer,
    recognizerUrl,
    notices: status.notices,
    local,
    describe: () => status.summary,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const close of closers) {
        try {
          close();
        } catch (error) {
          logger.warn("closing a speech engine failed", { error });
        }
      }
    },
  };
}

const NOTHING_INSTALLED: InstalledEngines = {
  pocketsphinx: false,
  apertium: [],
  espeak: false,
  missing: { pocketsphinx: [], apertium: [], espeak: [] },
};

function engineFailure(what: string, error: unknown): EarshotError {
  if (isEarshotError(error)) return error;
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "UnsupportedLanguagePairException" || name === "LanguageNotSupportedException") {
    return new EarshotError("UNSUPPORTED_LANGUAGE", `${what}: ${message}`, { cause: error });
  }
  return new EarshotError("ENGINE_UNAVAILABLE", `${what} failed: ${message}`, { cause: error });
}

export function sdkTranslator(client: TranslateClient): Translator {
  return {
    async translate(text, source, target) {
      try {
        const out = await client.send(new TranslateTextCommand({ Text: text, SourceLanguageCode: source, TargetLanguageCode: target }));
        return out.TranslatedText ?? "";
      } catch (error) {
        throw engineFailure(`Translation ${source} to ${target}`, error);
      }
    },
  };
}

export function sdkSynthesizer(client: PollyClient, voices: Partial<Record<LanguageCode, VoiceInfo>>): Synthesizer {
  return {
    async synthesize(text, language): Promise<SynthesizedSpeech> {
      const voice = voices[language];
      if (!voice) throw new EarshotError("UNSUPPORTED_LANGUAGE", `No voice is configured for ${language}.`);
      try {
        const out = await client.send(
          new SynthesizeSpeechCommand({
            Text: text,
            TextType: "text",
            // Local: an espeak-ng voice name, which the in-process Polly handler speaks with.
            VoiceId: voice.voice as VoiceId,
            OutputFormat: "mp3",
            SampleRate: SAMPLE_RATE,
            ...(voice.engine ? { Engine: voice.engine } : {}),
            ...(voice.languageCode ? { LanguageCode: voice.languageCode as SynthesizeSpeechCommandInput["LanguageCode"] } : {}),
          }),
        );
        if (!out.AudioStream) throw new Error("no audio in the response");
        const audio = await out.AudioStream.transformToByteArray();
        return { audio, format: "mp3", durationMs: mp3DurationMs(audio) };
      } catch (error) {
        throw engineFailure(`Speech synthesis (${language}, voice ${voice.voice})`, error);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// The process-wide status (the web app's pages read it)

export { setProcessSpeech } from "../../services";

/** Engines in effect and notices, without starting anything: detected from config and what is installed. */
export function detectSpeechEngines(config: Config = getConfig()): { engines: SpeechEngines; notices: string[]; summary: string } {
  const wantsLocal = config.speech.asr === "local" || config.speech.mt === "local" || config.speech.tts === "local";
  const status = speechStatus(config, wantsLocal ? detectInstalled() : NOTHING_INSTALLED);
  return { engines: status.engines, notices: status.notices, summary: status.summary };
}

/** The running services' engines and notices (embedded), else detected from config (the cloud's web app: aws or off). */
export async function getSpeechStatus(config?: Config): Promise<{ engines: SpeechEngines; notices: string[] }> {
  const running = processSpeech();
  if (running) return { engines: running.engines, notices: running.notices };
  const { engines, notices } = detectSpeechEngines(config ?? getConfig());
  return { engines, notices };
}
