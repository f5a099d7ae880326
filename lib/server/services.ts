import { getConfig, type Config } from "./config";
import { createDocumentClient } from "./store/client";
import { Store, processRateCounters, type RateCounters } from "./store/store";
import { TokenSigner, TokenVerifier } from "./tokens";
import { EarshotError } from "../core/errors";
import type { SpeechServices } from "./speech/ports";

/**
 * Process-wide services for route handlers and the embedded gateway, built
 * once from config and cached on globalThis (survives Next's hot reload and
 * is shared between the custom server and Next's bundles in one process).
 */
export interface Services {
  config: Config;
  store: Store;
  /** Present where the private key is configured (the Next app; embedded runtime). */
  signer?: TokenSigner;
  verifier: TokenVerifier;
  /**
   * The speech engines in effect: embedded, the ones the runtime started (set
   * process-wide with setProcessSpeech); in the cloud's web app, the engines
   * config names (Translate and Polly run in the Lambda, not here).
   */
  speech?: SpeechServices;
}

const SPEECH = Symbol.for("earshot.speech");
type WithSpeech = typeof globalThis & { [SPEECH]?: SpeechServices };

/** The embedded runtime registers the engines it started, so Next's route handlers in the same process see them. */
export function setProcessSpeech(speech: SpeechServices | undefined): void {
  const g = globalThis as WithSpeech;
  if (speech) g[SPEECH] = speech;
  else delete g[SPEECH];
}

export function processSpeech(): SpeechServices | undefined {
  return (globalThis as WithSpeech)[SPEECH];
}

function speechFor(config: Config): SpeechServices | undefined {
  const running = processSpeech();
  if (running) return running;
  if (config.mode !== "cloud") return undefined;
  // Cloud config refuses local engines: what it names is what is in effect.
  const { asr, mt, tts } = config.speech;
  return { engines: { asr, mt, tts }, notices: [] };
}

const KEY = Symbol.for("earshot.services");
type WithServices = typeof globalThis & { [KEY]?: Promise<Services> };

export async function buildServices(config: Config, options: { counters?: RateCounters } = {}): Promise<Services> {
  if (!config.tokens.publicKey) throw new EarshotError("INTERNAL_ERROR", "EARSHOT_TOKEN_PUBLIC_KEY is not configured.");
  // Embedded is one process: its rate limits count in memory (the cloud's in the rate-limits table).
  const store = new Store(createDocumentClient(config), config.tablePrefix, {
    noRetryDoc: createDocumentClient(config, { retries: false }),
    counters: config.mode === "embedded" ? (options.counters ?? processRateCounters()) : undefined,
  });
  const verifier = await TokenVerifier.fromPem(config.tokens.publicKey, config.tokens.issuer);
  const signer = config.tokens.privateKey ? await TokenSigner.fromPem(config.tokens.privateKey, config.tokens.issuer) : undefined;
  return { config, store, signer, verifier, speech: speechFor(config) };
}

export function getServices(): Promise<Services> {
  const g = globalThis as WithServices;
  g[KEY] ??= buildServices(getConfig()).catch((error: unknown) => {
    delete g[KEY];
    throw error;
  });
  return g[KEY];
}

/** Installs services built elsewhere (the embedded runtime, tests). */
export function setServices(services: Services | undefined): void {
  const g = globalThis as WithServices;
  if (services) g[KEY] = Promise.resolve(services);
  else delete g[KEY];
}
