import { z } from "zod";
import { LANGUAGE_CODES, type LanguageCode } from "./languages";

/**
 * The one data schema. Every writer and reader of the store, the embedded
 * runtime that creates tables at boot, and the CDK stack that deploys them
 * use this module, so a field cannot have two names.
 */

export type KeyType = "S" | "N";

export interface TableDef {
  /** Logical name; the physical name is `${prefix}${name}`. */
  readonly name: string;
  readonly partitionKey: { readonly name: string; readonly type: KeyType };
  readonly sortKey?: { readonly name: string; readonly type: KeyType };
  /** Attribute holding an expiry in epoch seconds. DynamoDB deletes late, so readers also check it. */
  readonly ttlAttribute?: string;
  readonly indexes: readonly {
    readonly name: string;
    readonly partitionKey: { readonly name: string; readonly type: KeyType };
    readonly sortKey?: { readonly name: string; readonly type: KeyType };
  }[];
  /** Only the embedded runtime needs it (speakers live in Cognito in the cloud). */
  readonly embeddedOnly?: boolean;
}

export const TABLES = {
  sessions: {
    name: "sessions",
    partitionKey: { name: "sessionId", type: "S" },
    ttlAttribute: "expiresAt",
    indexes: [],
  },
  connections: {
    name: "connections",
    partitionKey: { name: "connectionId", type: "S" },
    ttlAttribute: "ttl",
    // The sort key makes each connection its own index entry (dynalite otherwise keys entries by a
    // 24-bit hash of the table key, and two connections of one session could hide each other).
    indexes: [{ name: "bySession", partitionKey: { name: "sessionId", type: "S" }, sortKey: { name: "connectionId", type: "S" } }],
  },
  rateLimits: {
    name: "rate-limits",
    partitionKey: { name: "bucket", type: "S" },
    ttlAttribute: "ttl",
    indexes: [],
  },
  /** Which connection currently holds a listener's resume key, so a rejoin replaces the old connection. */
  resumes: {
    name: "resumes",
    partitionKey: { name: "resumeKey", type: "S" },
    ttlAttribute: "ttl",
    indexes: [],
  },
  /** Final transcript segments of a session with their translations (the speaker's TXT / WebVTT download). */
  segments: {
    name: "segments",
    partitionKey: { name: "sessionId", type: "S" },
    sortKey: { name: "seq", type: "N" },
    ttlAttribute: "expiresAt",
    indexes: [],
  },
  speakers: {
    name: "speakers",
    partitionKey: { name: "email", type: "S" },
    indexes: [],
    embeddedOnly: true,
  },
} as const satisfies Record<string, TableDef>;

export type TableKey = keyof typeof TABLES;

export function tableName(prefix: string, table: TableKey): string {
  return `${prefix}${TABLES[table].name}`;
}

/** The CreateTable input for a table (used by the embedded runtime; the CDK stack maps the same defs). */
export function createTableInput(prefix: string, table: TableKey) {
  const def: TableDef = TABLES[table];
  const attrs = new Map<string, KeyType>();
  const add = (k?: { name: string; type: KeyType }) => k && attrs.set(k.name, k.type);
  add(def.partitionKey);
  add(def.sortKey);
  def.indexes.forEach((ix) => (add(ix.partitionKey), add(ix.sortKey)));
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: "HASH" as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: "RANGE" as const }] : []),
  ];
  return {
    TableName: tableName(prefix, table),
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.indexes.length
      ? {
          GlobalSecondaryIndexes: def.indexes.map((ix) => ({
            IndexName: ix.name,
            KeySchema: keySchema(ix.partitionKey, ix.sortKey),
            Projection: { ProjectionType: "ALL" as const },
          })),
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------
// Items

export const SESSION_STATUSES = ["active", "paused", "ended"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const ROLES = ["speaker", "listener"] as const;
export type Role = (typeof ROLES)[number];

/** Per-language listener counts are top-level numbers `count_<lang>`, so ADD keeps them atomic. */
export function languageCountAttribute(language: LanguageCode): `count_${LanguageCode}` {
  return `count_${language}`;
}

/** Viewers assigned to signaling channel shard `k` are counted in `viewers_<k>`, also by ADD. */
export function shardViewersAttribute(shard: number): `viewers_${number}` {
  return `viewers_${shard}`;
}

const languageCode = z.enum(LANGUAGE_CODES as [LanguageCode, ...LanguageCode[]]);
const count = z.number().int();

export const sessionItem = z
  .object({
    sessionId: z.string(),
    speakerId: z.string(),
    title: z.string(),
    sourceLanguage: languageCode,
    status: z.enum(SESSION_STATUSES),
    /** The speaker silenced the audio without pausing the session. */
    muted: z.boolean(),
    /** The speaker's media is up (master connected to signaling). */
    live: z.boolean(),
    /** The speaker's current control connection, if any. */
    speakerConnectionId: z.string().optional(),
    /** Signaling channels in use (shards of 10 viewers each in KVS). */
    channelCount: z.number().int().min(1),
    createdAt: z.number().int(), // epoch ms
    updatedAt: z.number().int(), // epoch ms
    expiresAt: z.number().int(), // epoch seconds (TTL)
    endedAt: z.number().int().optional(),
    listenerCount: count,
    /** When the counts last moved (epoch ms); the reconcile only corrects a session whose counts stood still. */
    countsAt: z.number().int().optional(),
    /** Languages the speaker asked to translate into (validated against the engines at creation). */
    targetLanguages: z.array(languageCode).optional(),
    /** Where this session's speech is recognised (lib/core/speech.ts SessionRecognizer). */
    recognizer: z.enum(["server", "browser", "off"]).optional(),
    /** The seq the next final transcript segment must have at least (seqs only grow). */
    nextSeq: z.number().int().min(0).optional(),
  })
  .catchall(z.unknown());

export type SessionItem = z.infer<typeof sessionItem>;

export const connectionItem = z
  .object({
    connectionId: z.string(),
    /** Absent for a speaker connection that has not created its session yet. */
    sessionId: z.string().optional(),
    role: z.enum(ROLES),
    speakerId: z.string().optional(),
    /** The language asked for at connect or since changed. */
    targetLanguage: languageCode.optional(),
    /** Set while the connection is counted as a listener of `sessionId` in that language. */
    joinedLanguage: languageCode.optional(),
    /** Signaling channel shard assigned to this listener, counted in the session's viewers_<k>. */
    channelIndex: z.number().int().min(0).optional(),
    /** The resumes-table key this listener holds (its clientKey), released when it goes. */
    resumeKey: z.string().optional(),
    /** Whether this listener wants synthesized speech pushed (absent: yes). */
    speech: z.boolean().optional(),
    /** The listener's KVS viewer client id on that channel. */
    viewerClientId: z.string().optional(),
    sourceIp: z.string().optional(),
    connectedAt: z.number().int(), // epoch ms
    lastSeenAt: z.number().int(), // epoch ms
    /** When this row's counted state (language, shard) last changed, epoch ms. */
    changedAt: z.number().int().optional(),
    ttl: z.number().int(), // epoch seconds
  })
  .catchall(z.unknown());

export type ConnectionItem = z.infer<typeof connectionItem>;

export const speakerItem = z.object({
  email: z.string(),
  speakerId: z.string(),
  name: z.string(),
  passwordHash: z.string(),
  createdAt: z.number().int(),
});

export type SpeakerItem = z.infer<typeof speakerItem>;

/** One final segment of a session's transcript, with its translations. */
export const segmentItem = z
  .object({
    sessionId: z.string(),
    seq: z.number().int().min(0),
    language: languageCode,
    text: z.string(),
    startMs: z.number().int(),
    endMs: z.number().int(),
    /** The speaker's wall clock at the end of the phrase (epoch ms), when sent. */
    spokenAt: z.number().int().optional(),
    /** When the server received it (epoch ms). */
    receivedAt: z.number().int(),
    /** Translated text per target language. */
    translations: z.record(z.string(), z.string()),
    expiresAt: z.number().int(), // epoch seconds (TTL), the session's
  })
  .catchall(z.unknown());

export type SegmentItem = z.infer<typeof segmentItem>;

/** Reads the per-language counts of a session item (zero counts omitted). */
export function languageDistribution(session: SessionItem): Partial<Record<LanguageCode, number>> {
  const out: Partial<Record<LanguageCode, number>> = {};
  for (const code of LANGUAGE_CODES) {
    const n = session[languageCountAttribute(code)];
    if (typeof n === "number" && n > 0) out[code] = n;
  }
  return out;
}

/** Connection rows outlive API Gateway's 2 h connection cap a little, then expire. */
export const CONNECTION_TTL_SECONDS = 3 * 3600;
