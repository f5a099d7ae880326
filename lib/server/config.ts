import { z } from "zod";
import { isLanguageCode, type LanguageCode } from "../core/languages";
import type { VoiceInfo } from "../core/speech";

/**
 * The one configuration module. Every variable Earshot reads is declared here,
 * validated at start-up, and documented in the README's config table.
 *
 * Embedded and cloud differ only in these values: the embedded runtime fills
 * in what it starts itself (store endpoint, keys, secrets) before anything reads them.
 */

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const url = z.string().url();

const engine = z.enum(["local", "aws", "off"]);

/** `es=Lucia,de=Vicki:standard`: a Polly voice per language, optionally with its engine (default neural). */
const pollyVoices = z.string().transform((v, ctx) => {
  const voices: Partial<Record<LanguageCode, VoiceInfo>> = {};
  for (const item of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z]{2})=([A-Z][A-Za-z]{1,30})(?::(neural|standard))?$/.exec(item);
    if (!m) {
      ctx.addIssue({ code: "custom", message: `"${item}" is not LANG=Voice or LANG=Voice:neural|standard (e.g. es=Lucia,de=Vicki)` });
      continue;
    }
    const [, language, voice, kind] = m;
    if (!isLanguageCode(language)) {
      ctx.addIssue({ code: "custom", message: `"${language}" is not a language Earshot lists` });
      continue;
    }
    voices[language] = { voice: voice ?? "", engine: kind === "standard" ? "standard" : "neural" };
  }
  return voices;
});

const pem = z
  .string()
  .transform((v) => v.replace(/\\n/g, "\n").trim())
  .refine((v) => /^-----BEGIN [A-Z ]+-----\n[\s\S]+\n-----END [A-Z ]+-----$/.test(v), "must be a PEM block");

const schema = z
  .object({
    EARSHOT_MODE: z.enum(["embedded", "cloud"]).default("embedded"),
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default("0.0.0.0"),
    /** Base URL people open; join links and QR codes use it. */
    EARSHOT_PUBLIC_URL: url.optional(),
    /** Set by the embedded runtime when it chose EARSHOT_PUBLIC_URL itself: "network" (a LAN address) or "loopback" (no other). */
    EARSHOT_PUBLIC_URL_SOURCE: z.enum(["configured", "network", "loopback"]).optional(),
    /** WebSocket control channel URL the browser connects to (cloud: the API Gateway stage URL). */
    EARSHOT_WS_URL: z.string().regex(/^wss?:\/\/\S+$/, "must be a ws:// or wss:// URL").optional(),
    /** Embedded runtime: a directory for the on-disk store and its keys, or "memory". */
    EARSHOT_DATA: z.string().min(1).default(".earshot"),
    EARSHOT_DEMO_PASSWORD: z.string().min(8, "must be at least 8 characters").default("earshot-demo"),

    AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-west-1").optional(),
    /** DynamoDB endpoint; the embedded runtime sets it to its own store. */
    EARSHOT_DYNAMODB_ENDPOINT: url.optional(),
    EARSHOT_TABLE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only").default("earshot-"),

    /** ES256 key pair that signs speaker and signaling tokens (PEM; literal \n allowed). */
    EARSHOT_TOKEN_PRIVATE_KEY: pem.optional(),
    EARSHOT_TOKEN_PUBLIC_KEY: pem.optional(),
    EARSHOT_TOKEN_ISSUER: z.string().min(1).default("earshot"),

    NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    NEXTAUTH_URL: url.optional(),

    COGNITO_CLIENT_ID: z.string().min(1).optional(),
    COGNITO_CLIENT_SECRET: z.string().min(1).optional(),
    COGNITO_ISSUER: url.optional(),
    COGNITO_IDENTITY_POOL_ID: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f-]{36}$/, "must be REGION:UUID").optional(),
    /** The viewer role the control Lambda assumes, one channel per session policy, for listeners' KVS credentials. */
    KVS_VIEWER_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, "must be an IAM role ARN").optional(),
    /** The role the Next app assumes, scoped down to one session's channels, for the speaker's MASTER credentials. */
    KVS_MASTER_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, "must be an IAM role ARN").optional(),
    KVS_CHANNEL_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/).default("earshot-"),

    EARSHOT_SESSION_TTL_HOURS: positiveInt(12),
    EARSHOT_VIEWERS_PER_CHANNEL: positiveInt(10),
    EARSHOT_MAX_CHANNELS_PER_SESSION: positiveInt(10),
    /**
     * Per client IP, per minute. A venue's audience shares one address: these two are flood ceilings,
     * set at three full rooms' arrivals (docs/RELIABILITY.md); guessing is stopped by the failed-lookup budget.
     */
    EARSHOT_LIMIT_CONNECTS_PER_MINUTE: positiveInt(3000),
    EARSHOT_LIMIT_LOOKUPS_PER_MINUTE: positiveInt(3000),
    EARSHOT_LIMIT_FAILED_LOOKUPS_PER_MINUTE: positiveInt(20),
    /** Per connection, per 10 seconds. */
    EARSHOT_LIMIT_MESSAGES_PER_10S: positiveInt(100),
    /** Per speaker, per hour. */
    EARSHOT_LIMIT_SESSIONS_PER_HOUR: positiveInt(30),
    /** Trust X-Forwarded-For (only behind a proxy you run). */
    EARSHOT_TRUST_PROXY: bool.default(false),
    /** Control connections close after this long (API Gateway: 2 h) and after this long without a message (10 min). */
    EARSHOT_WS_MAX_CONNECTION_SECONDS: positiveInt(7200),
    EARSHOT_WS_IDLE_SECONDS: positiveInt(600),
    /** Embedded signaling relay connections get GO_AWAY and close after this long (KVS: 1 h). */
    EARSHOT_SIGNALING_MAX_CONNECTION_SECONDS: positiveInt(3600),
    /**
     * A listener's page joins and connects the audio this long before the Listen tap (the tap then only starts
     * playback: a phone hears the speaker at the tap, not 1-2 s after it). A page not tapped by then leaves and
     * frees its media slot. 0: nothing before the tap (the listener is counted from the tap).
     */
    EARSHOT_CONNECT_AHEAD_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
    /** How often the sweeper removes dead connections and reconciles counts. */
    EARSHOT_SWEEP_INTERVAL_SECONDS: positiveInt(30),
    /** Live translation engines per port: speech recognition, translation, synthesis. Default: local (embedded), aws (cloud). */
    EARSHOT_ASR: engine.optional(),
    EARSHOT_MT: engine.optional(),
    EARSHOT_TTS: engine.optional(),
    /** Amazon Polly voice per language, overriding the defaults in lib/core/speech.ts. */
    EARSHOT_POLLY_VOICES: pollyVoices.optional(),
    /** Concurrent local recognition streams (one pocketsphinx process each, ~105 MB). */
    EARSHOT_ASR_MAX_STREAMS: positiveInt(4),
    /** Silence that ends an utterance for the local recogniser, ms (pocketsphinx's default 500). */
    EARSHOT_ASR_PAUSE_MS: z.coerce.number().int().min(100).max(3000).default(500),
    EARSHOT_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  })
  .superRefine((env, ctx) => {
    if (env.EARSHOT_MODE !== "cloud") return;
    for (const key of ["EARSHOT_ASR", "EARSHOT_MT", "EARSHOT_TTS"] as const) {
      if (env[key] === "local") {
        ctx.addIssue({ code: "custom", path: [key], message: "=local is not available when EARSHOT_MODE=cloud (the Lambda runs no local engines): use aws or off" });
      }
    }
    const required = [
      "AWS_REGION",
      "EARSHOT_PUBLIC_URL",
      "EARSHOT_WS_URL",
      "EARSHOT_TOKEN_PUBLIC_KEY",
      "COGNITO_IDENTITY_POOL_ID",
      "KVS_VIEWER_ROLE_ARN",
    ] as const;
    for (const key of required) {
      if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "is required when EARSHOT_MODE=cloud" });
    }
  });

export type RawEnv = z.infer<typeof schema>;

/** What both modes have. */
interface ConfigBase {
  production: boolean;
  port: number;
  host: string;
  publicUrl: string;
  /** Where publicUrl came from: the operator, or the embedded runtime's choice (a LAN address, or only loopback). */
  publicUrlSource: "configured" | "network" | "loopback";
  /** undefined: the browser uses the page's own origin + /ws. */
  wsUrl?: string;
  data: { kind: "memory" } | { kind: "disk"; path: string };
  demoPassword: string;
  aws: { region: string; dynamodbEndpoint?: string };
  tablePrefix: string;
  tokens: { privateKey?: string; publicKey?: string; issuer: string };
  auth: { secret?: string; url?: string };
  cognito: { clientId?: string; clientSecret?: string; issuer?: string; identityPoolId?: string };
  kvs: { viewerRoleArn?: string; masterRoleArn?: string; channelPrefix: string; viewersPerChannel: number; maxChannelsPerSession: number };
  sessionTtlSeconds: number;
  limits: {
    connectsPerMinute: number;
    lookupsPerMinute: number;
    failedLookupsPerMinute: number;
    messagesPer10s: number;
    sessionsPerHour: number;
  };
  trustProxy: boolean;
  sweepIntervalSeconds: number;
  ws: { maxConnectionSeconds: number; idleSeconds: number };
  signaling: { maxConnectionSeconds: number };
  /** How long a listener's page stays joined and connected before the Listen tap (EARSHOT_CONNECT_AHEAD_SECONDS; 0: off). */
  connectAheadSeconds: number;
  /** Live translation engines as configured (lib/server/speech/engines says which are in effect). */
  speech: {
    asr: SpeechEngineSetting;
    mt: SpeechEngineSetting;
    tts: SpeechEngineSetting;
    pollyVoices: Partial<Record<LanguageCode, VoiceInfo>>;
    maxRecognizerStreams: number;
    /** Local recogniser: silence that ends an utterance, ms. */
    pauseMs: number;
  };
  logLevel: RawEnv["EARSHOT_LOG_LEVEL"];
}

export interface EmbeddedConfig extends ConfigBase {
  mode: "embedded";
}

/** Cloud mode: what the deployment must provide is present (the schema refuses a cloud config without it). */
export interface CloudConfig extends ConfigBase {
  mode: "cloud";
  wsUrl: string;
  tokens: ConfigBase["tokens"] & { publicKey: string };
  cognito: ConfigBase["cognito"] & { identityPoolId: string };
  kvs: ConfigBase["kvs"] & { viewerRoleArn: string };
}

/** The configuration, by mode: `config.mode === "cloud"` narrows to what a cloud deployment must have. */
export type Config = EmbeddedConfig | CloudConfig;

export type SpeechEngineSetting = "local" | "aws" | "off";

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Parses and validates an environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Treat empty strings as unset, as shells and .env files often leave them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"} ${i.message}`));
  }
  const e = parsed.data;
  const port = e.PORT;
  const base: ConfigBase = {
    production: e.NODE_ENV === "production",
    port,
    host: e.HOST,
    publicUrl: (e.EARSHOT_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ""),
    publicUrlSource: e.EARSHOT_PUBLIC_URL_SOURCE ?? (e.EARSHOT_PUBLIC_URL ? "configured" : "loopback"),
    wsUrl: e.EARSHOT_WS_URL,
    data: e.EARSHOT_DATA === "memory" ? { kind: "memory" } : { kind: "disk", path: e.EARSHOT_DATA },
    demoPassword: e.EARSHOT_DEMO_PASSWORD,
    aws: { region: e.AWS_REGION ?? "us-east-1", dynamodbEndpoint: e.EARSHOT_DYNAMODB_ENDPOINT },
    tablePrefix: e.EARSHOT_TABLE_PREFIX,
    tokens: { privateKey: e.EARSHOT_TOKEN_PRIVATE_KEY, publicKey: e.EARSHOT_TOKEN_PUBLIC_KEY, issuer: e.EARSHOT_TOKEN_ISSUER },
    auth: { secret: e.NEXTAUTH_SECRET, url: e.NEXTAUTH_URL },
    cognito: {
      clientId: e.COGNITO_CLIENT_ID,
      clientSecret: e.COGNITO_CLIENT_SECRET,
      issuer: e.COGNITO_ISSUER,
      identityPoolId: e.COGNITO_IDENTITY_POOL_ID,
    },
    kvs: {
      viewerRoleArn: e.KVS_VIEWER_ROLE_ARN,
      masterRoleArn: e.KVS_MASTER_ROLE_ARN,
      channelPrefix: e.KVS_CHANNEL_PREFIX,
      viewersPerChannel: e.EARSHOT_VIEWERS_PER_CHANNEL,
      maxChannelsPerSession: e.EARSHOT_MAX_CHANNELS_PER_SESSION,
    },
    sessionTtlSeconds: e.EARSHOT_SESSION_TTL_HOURS * 3600,
    limits: {
      connectsPerMinute: e.EARSHOT_LIMIT_CONNECTS_PER_MINUTE,
      lookupsPerMinute: e.EARSHOT_LIMIT_LOOKUPS_PER_MINUTE,
      failedLookupsPerMinute: e.EARSHOT_LIMIT_FAILED_LOOKUPS_PER_MINUTE,
      messagesPer10s: e.EARSHOT_LIMIT_MESSAGES_PER_10S,
      sessionsPerHour: e.EARSHOT_LIMIT_SESSIONS_PER_HOUR,
    },
    trustProxy: e.EARSHOT_TRUST_PROXY,
    sweepIntervalSeconds: e.EARSHOT_SWEEP_INTERVAL_SECONDS,
    ws: { maxConnectionSeconds: e.EARSHOT_WS_MAX_CONNECTION_SECONDS, idleSeconds: e.EARSHOT_WS_IDLE_SECONDS },
    signaling: { maxConnectionSeconds: e.EARSHOT_SIGNALING_MAX_CONNECTION_SECONDS },
    connectAheadSeconds: e.EARSHOT_CONNECT_AHEAD_SECONDS,
    speech: {
      asr: e.EARSHOT_ASR ?? (e.EARSHOT_MODE === "cloud" ? "aws" : "local"),
      mt: e.EARSHOT_MT ?? (e.EARSHOT_MODE === "cloud" ? "aws" : "local"),
      tts: e.EARSHOT_TTS ?? (e.EARSHOT_MODE === "cloud" ? "aws" : "local"),
      pollyVoices: e.EARSHOT_POLLY_VOICES ?? {},
      maxRecognizerStreams: e.EARSHOT_ASR_MAX_STREAMS,
      pauseMs: e.EARSHOT_ASR_PAUSE_MS,
    },
    logLevel: e.EARSHOT_LOG_LEVEL,
  };
  if (e.EARSHOT_MODE === "embedded") return { ...base, mode: "embedded" };
  // The schema's cloud rules made these present; checked again here so the type says so.
  const { EARSHOT_WS_URL: wsUrl, EARSHOT_TOKEN_PUBLIC_KEY: publicKey, COGNITO_IDENTITY_POOL_ID: identityPoolId, KVS_VIEWER_ROLE_ARN: viewerRoleArn } = e;
  if (!wsUrl || !publicKey || !identityPoolId || !viewerRoleArn) throw new ConfigError(["(env) cloud mode is missing a required variable"]);
  return {
    ...base,
    mode: "cloud",
    wsUrl,
    tokens: { ...base.tokens, publicKey },
    cognito: { ...base.cognito, identityPoolId },
    kvs: { ...base.kvs, viewerRoleArn },
  };
}

const CACHE = Symbol.for("earshot.config");
type WithCache = typeof globalThis & { [CACHE]?: Config };

/** The process-wide config, parsed once. The embedded runtime fills env before the first call. */
export function getConfig(): Config {
  const g = globalThis as WithCache;
  g[CACHE] ??= loadConfig(process.env);
  return g[CACHE];
}

/** For the embedded runtime after it has filled env in, and for tests. */
export function resetConfig(): void {
  delete (globalThis as WithCache)[CACHE];
}
