import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { EarshotError, isEarshotError } from "../../core/errors";
import type { LanguageCode } from "../../core/languages";
import {
  CONNECTION_TTL_SECONDS,
  connectionItem,
  languageCountAttribute,
  shardViewersAttribute,
  segmentItem,
  sessionItem,
  speakerItem,
  tableName,
  type ConnectionItem,
  type Role,
  type SegmentItem,
  type SessionItem,
  type SessionStatus,
  type SpeakerItem,
} from "../../core/schema";
import { generateSessionId } from "../../core/session-id";
import type { SessionRecognizer } from "../../core/speech";

/**
 * The data layer: every read and write of sessions, connections, rate limits
 * and (embedded) speaker accounts. Counts move by atomic ADD, state changes are
 * conditional writes, and nothing reads a value to write it back.
 */

export type Clock = () => number;

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === "ConditionalCheckFailedException")
  );
}

export interface NewSession {
  speakerId: string;
  title: string;
  sourceLanguage: LanguageCode;
  ttlSeconds: number;
  targetLanguages?: LanguageCode[];
  recognizer?: SessionRecognizer;
}

export type CountDeltas = Partial<Record<LanguageCode, number>>;

export interface RateDecision {
  allowed: boolean;
  count: number;
  retryAfter: number;
}

/**
 * Rate-limit counters. The cloud counts in the rate-limits table (shared by
 * every Lambda and web instance); the embedded runtime, a single process,
 * counts in memory and spares the store two writes per connection.
 */
export interface RateCounters {
  /** Adds `by` (default one; negative gives back) to a bucket (kept until `expiresAtS`) and returns its new count. */
  add(bucket: string, expiresAtS: number, by?: number): Promise<number>;
  get(bucket: string): Promise<number>;
}

class TableCounters implements RateCounters {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(bucket: string, expiresAtS: number, by = 1): Promise<number> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { bucket },
        UpdateExpression: "ADD hits :one SET #ttl = :ttl",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":one": by, ":ttl": expiresAtS },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(out.Attributes?.hits ?? 1);
  }

  async get(bucket: string): Promise<number> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { bucket }, ConsistentRead: true }));
    return Number(out.Item?.hits ?? 0);
  }
}

export class MemoryCounters implements RateCounters {
  private readonly buckets = new Map<string, { hits: number; expiresAtS: number }>();
  private adds = 0;

  constructor(private readonly nowS: () => number = () => Math.floor(Date.now() / 1000)) {}

  async add(bucket: string, expiresAtS: number, by = 1): Promise<number> {
    if (++this.adds % 1000 === 0) this.prune();
    const entry = this.buckets.get(bucket);
    if (entry && entry.expiresAtS > this.nowS()) return (entry.hits += by);
    this.buckets.set(bucket, { hits: by, expiresAtS });
    return by;
  }

  async get(bucket: string): Promise<number> {
    const entry = this.buckets.get(bucket);
    return entry && entry.expiresAtS > this.nowS() ? entry.hits : 0;
  }

  private prune(): void {
    const now = this.nowS();
    for (const [k, v] of this.buckets) if (v.expiresAtS <= now) this.buckets.delete(k);
  }
}

const MEMORY_COUNTERS = Symbol.for("earshot.rateCounters");

/** One set of in-memory counters per process, shared by the gateway and Next's route handlers. */
export function processRateCounters(): MemoryCounters {
  const g = globalThis as typeof globalThis & { [MEMORY_COUNTERS]?: MemoryCounters };
  g[MEMORY_COUNTERS] ??= new MemoryCounters();
  return g[MEMORY_COUNTERS];
}

/** guardedLookup: a lookup queued behind lookups in flight tries again this often, this far apart (± half): up to ~4 s. */
const GUARD_WAITS = 80;
const GUARD_WAIT_MS = 50;

function resumeKeyOf(sessionId: string, clientKey: string): string {
  return `${sessionId}#${clientKey}`;
}

export class Store {
  readonly tables: { sessions: string; connections: string; rateLimits: string; resumes: string; segments: string; speakers: string };

  private readonly counters: RateCounters;
  /** For writes that ADD to a count: never retried by the SDK (see client.ts). */
  private readonly once: DynamoDBDocumentClient;

  constructor(
    readonly doc: DynamoDBDocumentClient,
    prefix: string,
    options: { now?: Clock; counters?: RateCounters; noRetryDoc?: DynamoDBDocumentClient } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.once = options.noRetryDoc ?? doc;
    this.tables = {
      sessions: tableName(prefix, "sessions"),
      connections: tableName(prefix, "connections"),
      rateLimits: tableName(prefix, "rateLimits"),
      resumes: tableName(prefix, "resumes"),
      segments: tableName(prefix, "segments"),
      speakers: tableName(prefix, "speakers"),
    };
    this.counters = options.counters ?? new TableCounters(this.once, this.tables.rateLimits);
  }

  private readonly now: Clock;

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  // -------------------------------------------------------------------------
  // Sessions

  /** Creates a session under a fresh id; a collision retries with a new id. */
  async createSession(input: NewSession, attempts = 5): Promise<SessionItem> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const now = this.now();
      const item: SessionItem = sessionItem.parse({
        sessionId: generateSessionId(),
        speakerId: input.speakerId,
        title: input.title,
        sourceLanguage: input.sourceLanguage,
        status: "active",
        muted: false,
        live: false,
        channelCount: 1,
        createdAt: now,
        updatedAt: now,
        expiresAt: Math.floor(now / 1000) + input.ttlSeconds,
        listenerCount: 0,
        targetLanguages: input.targetLanguages ?? [],
        recognizer: input.recognizer ?? "off",
      });
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tables.sessions,
            Item: item,
            // An expired session's id may be reused; a live one never is.
            ConditionExpression: "attribute_not_exists(sessionId) OR expiresAt < :now",
            ExpressionAttributeValues: { ":now": Math.floor(now / 1000) },
          }),
        );
        return item;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new EarshotError("INTERNAL_ERROR", "Could not allocate a session id; try again.");
  }

  /** The session, or undefined when it does not exist or has expired. */
  async getSession(sessionId: string, consistent = false): Promise<SessionItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tables.sessions, Key: { sessionId }, ConsistentRead: consistent }),
    );
    if (!out.Item) return undefined;
    const item = sessionItem.parse(out.Item);
    return item.expiresAt <= this.nowSeconds() ? undefined : item;
  }

  /**
   * Changes the broadcast state of a live session owned by `speakerId`.
   * Returns the session after the change; throws SESSION_NOT_FOUND,
   * SESSION_INACTIVE or UNAUTHORIZED_ACTION when the condition does not hold.
   */
  async updateBroadcast(
    sessionId: string,
    speakerId: string,
    patch: { status?: Exclude<SessionStatus, "ended">; muted?: boolean; live?: boolean },
  ): Promise<SessionItem> {
    const sets = ["updatedAt = :now"];
    const values: Record<string, unknown> = { ":now": this.now(), ":speaker": speakerId, ":ended": "ended", ":nowS": this.nowSeconds() };
    const names: Record<string, string> = { "#status": "status" };
    for (const [field, name] of [["status", "#status"], ["muted", "muted"], ["live", "live"]] as const) {
      if (patch[field] === undefined) continue;
      sets.push(`${name} = :${field}`);
      values[`:${field}`] = patch[field];
    }
    return this.conditionalSessionUpdate(sessionId, speakerId, {
      UpdateExpression: `SET ${sets.join(", ")}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /** Ends a session. Idempotent for its speaker: ending an ended session returns it unchanged. */
  async endSession(sessionId: string, speakerId: string): Promise<{ session: SessionItem; changed: boolean }> {
    try {
      const session = await this.conditionalSessionUpdate(sessionId, speakerId, {
        UpdateExpression: "SET #status = :ended, endedAt = :now, updatedAt = :now, live = :false",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":now": this.now(), ":speaker": speakerId, ":ended": "ended", ":false": false, ":nowS": this.nowSeconds() },
      });
      return { session, changed: true };
    } catch (error) {
      if (isEarshotError(error) && error.code === "SESSION_INACTIVE") {
        const session = await this.getSession(sessionId, true);
        if (session && session.speakerId === speakerId) return { session, changed: false };
      }
      throw error;
    }
  }

  private async conditionalSessionUpdate(
    sessionId: string,
    speakerId: string,
    update: { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<SessionItem> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.sessions,
          Key: { sessionId },
          ...update,
          ConditionExpression: "attribute_exists(sessionId) AND speakerId = :speaker AND #status <> :ended AND expiresAt > :nowS",
          ReturnValues: "ALL_NEW",
        }),
      );
      return sessionItem.parse(out.Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.getSession(sessionId, true);
      if (!current) throw new EarshotError("SESSION_NOT_FOUND");
      if (current.speakerId !== speakerId) throw new EarshotError("UNAUTHORIZED_ACTION", "Only the session's speaker may do that.");
      throw new EarshotError("SESSION_INACTIVE");
    }
  }

  /** Records (or, with `undefined`, clears if still current) the speaker's control connection. */
  async setSpeakerConnection(sessionId: string, connectionId: string | undefined, ifCurrent?: string): Promise<SessionItem | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.sessions,
          Key: { sessionId },
          ...(connectionId
            ? {
                UpdateExpression: "SET speakerConnectionId = :c, updatedAt = :now",
                ConditionExpression: "attribute_exists(sessionId)",
                ExpressionAttributeValues: { ":c": connectionId, ":now": this.now() },
              }
            : {
                UpdateExpression: "REMOVE speakerConnectionId SET updatedAt = :now, live = :false",
                ConditionExpression: "attribute_exists(sessionId) AND speakerConnectionId = :c",
                ExpressionAttributeValues: { ":c": ifCurrent, ":now": this.now(), ":false": false },
              }),
          ReturnValues: "ALL_NEW",
        }),
      );
      return sessionItem.parse(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Atomically adds to the listener counts (total and per language) and to
   * the viewers of signaling shards; returns the session after the change.
   */
  async adjustCounts(
    sessionId: string,
    languages: CountDeltas,
    shards: Record<number, number> = {},
    correction?: { total: number; expectCountsAt: number },
  ): Promise<SessionItem | undefined> {
    const langEntries = Object.entries(languages).filter(([, d]) => d !== 0) as [LanguageCode, number][];
    const shardEntries = Object.entries(shards).filter(([, d]) => d !== 0);
    const expectCountsAt = correction?.expectCountsAt;
    const total = correction ? correction.total : langEntries.reduce((sum, [, d]) => sum + d, 0);
    if (langEntries.length === 0 && shardEntries.length === 0 && total === 0) return this.getSession(sessionId, true);
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds: string[] = [];
    if (total !== 0) {
      adds.push("listenerCount :total");
      values[":total"] = total;
    }
    langEntries.forEach(([lang, d], i) => {
      names[`#l${i}`] = languageCountAttribute(lang);
      values[`:d${i}`] = d;
      adds.push(`#l${i} :d${i}`);
    });
    shardEntries.forEach(([shard, d], i) => {
      names[`#s${i}`] = shardViewersAttribute(Number(shard));
      values[`:s${i}`] = d;
      adds.push(`#s${i} :s${i}`);
    });
    try {
      const out = await this.once.send(
        new UpdateCommand({
          TableName: this.tables.sessions,
          Key: { sessionId },
          UpdateExpression: `ADD ${adds.join(", ")} SET countsAt = :countsAt`,
          // A correction applies only if the counts have not moved since they were read.
          ConditionExpression:
            expectCountsAt === undefined
              ? "attribute_exists(sessionId)"
              : expectCountsAt === 0
                ? "attribute_exists(sessionId) AND attribute_not_exists(countsAt)"
                : "attribute_exists(sessionId) AND countsAt = :seen",
          ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: { ...values, ":countsAt": this.now(), ...(expectCountsAt ? { ":seen": expectCountsAt } : {}) },
          ReturnValues: "ALL_NEW",
        }),
      );
      return sessionItem.parse(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined; // session deleted: nothing to count
      throw error;
    }
  }

  /** Takes one viewer slot on shard `shard` if it exists and has room. Returns the session after, or undefined. */
  async claimShardSlot(sessionId: string, shard: number, cap: number): Promise<SessionItem | undefined> {
    try {
      const out = await this.once.send(
        new UpdateCommand({
          TableName: this.tables.sessions,
          Key: { sessionId },
          UpdateExpression: "ADD #v :one",
          ConditionExpression: "attribute_exists(sessionId) AND channelCount > :shard AND (attribute_not_exists(#v) OR #v < :cap)",
          ExpressionAttributeNames: { "#v": shardViewersAttribute(shard) },
          ExpressionAttributeValues: { ":one": 1, ":shard": shard, ":cap": cap },
          ReturnValues: "ALL_NEW",
        }),
      );
      return sessionItem.parse(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Opens shard number `shard` (= the current channelCount). False when someone else moved channelCount first. */
  async openShard(sessionId: string, shard: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.sessions,
          Key: { sessionId },
          UpdateExpression: "SET channelCount = :next, updatedAt = :now",
          ConditionExpression: "attribute_exists(sessionId) AND channelCount = :shard",
          ExpressionAttributeValues: { ":next": shard + 1, ":shard": shard, ":now": this.now() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  // -------------------------------------------------------------------------
  // Connections

  async putConnection(input: {
    connectionId: string;
    role: Role;
    sessionId?: string;
    speakerId?: string;
    targetLanguage?: LanguageCode;
    sourceIp?: string;
  }): Promise<ConnectionItem> {
    const now = this.now();
    const item = connectionItem.parse({
      ...input,
      connectedAt: now,
      lastSeenAt: now,
      ttl: Math.floor(now / 1000) + CONNECTION_TTL_SECONDS,
    });
    await this.doc.send(new PutCommand({ TableName: this.tables.connections, Item: item }));
    return item;
  }

  async getConnection(connectionId: string): Promise<ConnectionItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tables.connections, Key: { connectionId }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const item = connectionItem.parse(out.Item);
    return item.ttl <= this.nowSeconds() ? undefined : item;
  }

  /** Deletes a connection and returns what it was, exactly once: a second delete returns undefined. */
  async deleteConnection(connectionId: string): Promise<ConnectionItem | undefined> {
    const out = await this.doc.send(
      new DeleteCommand({ TableName: this.tables.connections, Key: { connectionId }, ReturnValues: "ALL_OLD" }),
    );
    return out.Attributes ? connectionItem.parse(out.Attributes) : undefined;
  }

  /** A speaker connection takes ownership of a session it created or re-attaches to. */
  async attachSpeaker(connectionId: string, sessionId: string): Promise<ConnectionItem | undefined> {
    return this.updateConnection(connectionId, "SET sessionId = :sid", "attribute_exists(connectionId) AND #role = :speaker", {
      ":sid": sessionId,
      ":speaker": "speaker",
    });
  }

  /**
   * Marks a listener connection as counted in `language` for its session.
   * Returns the row as it was before, so the caller moves the counts by the
   * exact difference (a repeated join only moves a language).
   */
  async markJoined(
    connectionId: string,
    sessionId: string,
    language: LanguageCode,
    clientKey?: string,
    speech = true,
  ): Promise<ConnectionItem | undefined> {
    return this.updateConnection(
      connectionId,
      `SET joinedLanguage = :l, targetLanguage = :l, speech = :sp, lastSeenAt = :now, changedAt = :now${clientKey ? ", resumeKey = :rk" : ""}`,
      "attribute_exists(connectionId) AND sessionId = :sid AND #role = :listener",
      {
        ":l": language,
        ":sp": speech,
        ":sid": sessionId,
        ":listener": "listener",
        ":now": this.now(),
        ...(clientKey ? { ":rk": resumeKeyOf(sessionId, clientKey) } : {}),
      },
    );
  }

  /** Points a session's resume key at `connectionId`; returns the connection it pointed at before, if another. */
  async claimResumeKey(sessionId: string, clientKey: string, connectionId: string): Promise<string | undefined> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.resumes,
        Key: { resumeKey: resumeKeyOf(sessionId, clientKey) },
        UpdateExpression: "SET connectionId = :c, #ttl = :ttl",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":c": connectionId, ":ttl": this.nowSeconds() + CONNECTION_TTL_SECONDS },
        ReturnValues: "ALL_OLD",
      }),
    );
    const previous = out.Attributes?.connectionId;
    return typeof previous === "string" && previous !== connectionId ? previous : undefined;
  }

  /** Drops a resume key when the connection holding it goes (a newer connection may hold it already: then it stays). */
  async releaseResumeKey(resumeKey: string, connectionId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tables.resumes,
          Key: { resumeKey },
          ConditionExpression: "connectionId = :c",
          ExpressionAttributeValues: { ":c": connectionId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Moves a joined listener to another language; returns the row before, or undefined if not joined. */
  async markLanguage(connectionId: string, language: LanguageCode, speech = true): Promise<ConnectionItem | undefined> {
    return this.updateConnection(
      connectionId,
      "SET joinedLanguage = :l, targetLanguage = :l, speech = :sp, lastSeenAt = :now, changedAt = :now",
      "attribute_exists(joinedLanguage)",
      { ":l": language, ":sp": speech, ":now": this.now() },
    );
  }

  /** Un-counts a listener; returns the row before, or undefined if it was not joined. */
  async markLeft(connectionId: string): Promise<ConnectionItem | undefined> {
    return this.updateConnection(connectionId, "REMOVE joinedLanguage, channelIndex SET lastSeenAt = :now, changedAt = :now", "attribute_exists(joinedLanguage)", {
      ":now": this.now(),
    });
  }

  /**
   * Puts a listener row's counted state (joined language, target language,
   * shard) and its speech flag (a join and a language change set it with the
   * language) back as they were in `before`, after the count write that
   * should have followed a change failed. Only while the row still shows the
   * change (`joinedNow`: the language it was moved to, or undefined after a
   * leave): false when something moved it since.
   */
  async restoreListener(connectionId: string, joinedNow: LanguageCode | undefined, before: ConnectionItem): Promise<boolean> {
    const sets = ["changedAt = :now"];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ":now": this.now() };
    const put = (attribute: string, value: unknown, placeholder: string) => {
      sets.push(`${attribute} = ${placeholder}`);
      values[placeholder] = value;
    };
    if (before.joinedLanguage) put("joinedLanguage", before.joinedLanguage, ":bj");
    else removes.push("joinedLanguage");
    if (before.targetLanguage) put("targetLanguage", before.targetLanguage, ":bt");
    if (before.channelIndex !== undefined) put("channelIndex", before.channelIndex, ":bk");
    if (before.speech !== undefined) put("speech", before.speech, ":bs");
    else removes.push("speech");
    if (joinedNow) values[":j"] = joinedNow;
    const restored = await this.updateConnection(
      connectionId,
      `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
      joinedNow ? "joinedLanguage = :j" : "attribute_exists(connectionId) AND attribute_not_exists(joinedLanguage)",
      values,
    );
    return restored !== undefined;
  }

  /** Puts back a deleted connection row (its un-counting failed) unless a row of that id exists again. */
  async restoreConnection(before: ConnectionItem): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tables.connections, Item: connectionItem.parse(before), ConditionExpression: "attribute_not_exists(connectionId)" }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Records a listener's signaling shard; undefined when it already had one (the caller gives its slot back). */
  async setViewerChannel(connectionId: string, shard: number, viewerClientId: string): Promise<ConnectionItem | undefined> {
    return this.updateConnection(
      connectionId,
      "SET channelIndex = :k, viewerClientId = :v, changedAt = :now",
      "attribute_exists(connectionId) AND attribute_not_exists(channelIndex)",
      { ":k": shard, ":v": viewerClientId, ":now": this.now() },
    );
  }

  async touchConnection(connectionId: string): Promise<void> {
    await this.updateConnection(connectionId, "SET lastSeenAt = :now", "attribute_exists(connectionId)", { ":now": this.now() });
  }

  private async updateConnection(
    connectionId: string,
    update: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<ConnectionItem | undefined> {
    const usesRole = condition.includes("#role");
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.connections,
          Key: { connectionId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(usesRole ? { ExpressionAttributeNames: { "#role": "role" } } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_OLD",
        }),
      );
      return out.Attributes ? connectionItem.parse(out.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Every connection row of a session (speaker and listeners), paging through the index. */
  async listSessionConnections(sessionId: string): Promise<ConnectionItem[]> {
    const items: ConnectionItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.connections,
          IndexName: "bySession",
          KeyConditionExpression: "sessionId = :sid",
          ExpressionAttributeValues: { ":sid": sessionId },
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of out.Items ?? []) items.push(connectionItem.parse(raw));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Every connection row, page by page (the sweeper's view). */
  async *scanConnections(): AsyncGenerator<ConnectionItem> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(new ScanCommand({ TableName: this.tables.connections, ExclusiveStartKey: start }));
      for (const raw of out.Items ?? []) yield connectionItem.parse(raw);
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /** Sessions that are not ended and not expired. */
  async *scanOpenSessions(): AsyncGenerator<SessionItem> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new ScanCommand({
          TableName: this.tables.sessions,
          FilterExpression: "#status <> :ended AND expiresAt > :now",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":ended": "ended", ":now": this.nowSeconds() },
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of out.Items ?? []) yield sessionItem.parse(raw);
      start = out.LastEvaluatedKey;
    } while (start);
  }

  // -------------------------------------------------------------------------
  // Transcript segments

  /** Stores (or replaces) one final segment with its translations. */
  async putSegment(item: SegmentItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tables.segments, Item: segmentItem.parse(item) }));
  }

  /**
   * Takes seq `seq` for a final segment: succeeds when it is at least the
   * session's nextSeq (gaps allowed, never a seq twice or backwards), moving
   * nextSeq past it. Returns false otherwise.
   */
  async claimSeq(sessionId: string, seq: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.sessions,
          Key: { sessionId },
          UpdateExpression: "SET nextSeq = :next",
          ConditionExpression: "attribute_exists(sessionId) AND (attribute_not_exists(nextSeq) OR nextSeq <= :seq)",
          ExpressionAttributeValues: { ":next": seq + 1, ":seq": seq },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A session's stored segments in seq order. */
  async listSegments(sessionId: string): Promise<SegmentItem[]> {
    const items: SegmentItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.segments,
          KeyConditionExpression: "sessionId = :sid",
          ExpressionAttributeValues: { ":sid": sessionId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of out.Items ?? []) items.push(segmentItem.parse(raw));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  // -------------------------------------------------------------------------
  // Rate limits: fixed windows counted by atomic ADD.

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const nowS = this.nowSeconds();
    const window = Math.floor(nowS / windowSeconds);
    const windowEnd = (window + 1) * windowSeconds;
    const count = await this.counters.add(`${key}#${windowSeconds}#${window}`, windowEnd + 60);
    return { allowed: count <= limit, count, retryAfter: Math.max(1, windowEnd - nowS) };
  }

  /** Reads a window's count without adding to it. */
  async peek(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const nowS = this.nowSeconds();
    const window = Math.floor(nowS / windowSeconds);
    const count = await this.counters.get(`${key}#${windowSeconds}#${window}`);
    return { allowed: count < limit, count, retryAfter: Math.max(1, (window + 1) * windowSeconds - nowS) };
  }

  /**
   * Guards a session lookup against code guessing: a client that has spent its
   * budget of failed lookups is refused every lookup (a right guess included)
   * until the window ends. `lookup` returns undefined for a miss.
   *
   * The budget is reserved before the lookup (an atomic add) and given back
   * when the lookup finds the session, so a burst of parallel guesses gets at
   * most `failedPerMinute` answers. A reservation past the budget is refused at
   * once when answered misses alone have spent it; when it is lookups still in
   * flight that hold it (a crowd opening one link at once), the lookup waits
   * for them (briefly, a bounded number of times) instead of being refused.
   */
  async guardedLookup<T>(clientIp: string, failedPerMinute: number, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    const held = `lookup-miss:${clientIp}`; // misses answered + lookups in flight
    const spent = `lookup-missed:${clientIp}`; // misses answered
    for (let attempt = 0; ; attempt++) {
      const reserved = await this.reserve(held, 60);
      if (reserved.count > failedPerMinute) {
        await reserved.giveBack();
        const answered = await this.peek(spent, failedPerMinute, 60);
        if (!answered.allowed || attempt >= GUARD_WAITS) throw EarshotError.rateLimited(reserved.retryAfter, "lookups of unknown sessions");
        await new Promise((r) => setTimeout(r, GUARD_WAIT_MS * (0.5 + Math.random())));
        continue;
      }
      let found: T | undefined;
      try {
        found = await lookup();
      } catch (error) {
        await reserved.giveBack();
        throw error;
      }
      if (found !== undefined) await reserved.giveBack();
      else await this.hit(spent, failedPerMinute, 60);
      return found;
    }
  }

  /** Adds one to this window's bucket of `key`; `giveBack` takes it back from the same bucket. */
  private async reserve(key: string, windowSeconds: number): Promise<{ count: number; retryAfter: number; giveBack: () => Promise<void> }> {
    const nowS = this.nowSeconds();
    const window = Math.floor(nowS / windowSeconds);
    const windowEnd = (window + 1) * windowSeconds;
    const bucket = `${key}#${windowSeconds}#${window}`;
    const count = await this.counters.add(bucket, windowEnd + 60);
    return { count, retryAfter: Math.max(1, windowEnd - nowS), giveBack: async () => void (await this.counters.add(bucket, windowEnd + 60, -1)) };
  }

  /** Throws RATE_LIMIT_EXCEEDED (with Retry-After seconds) when over the limit. */
  async enforce(key: string, limit: number, windowSeconds: number, what: string): Promise<void> {
    const decision = await this.hit(key, limit, windowSeconds);
    if (!decision.allowed) throw EarshotError.rateLimited(decision.retryAfter, what);
  }

  // -------------------------------------------------------------------------
  // Speakers (embedded accounts; the cloud uses Cognito)

  async getSpeaker(email: string): Promise<SpeakerItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tables.speakers, Key: { email: email.toLowerCase() }, ConsistentRead: true }),
    );
    return out.Item ? speakerItem.parse(out.Item) : undefined;
  }

  /** Adds a speaker; returns false when the email is taken (nothing is overwritten). */
  async putSpeaker(item: SpeakerItem, overwrite = false): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tables.speakers,
          Item: { ...speakerItem.parse(item), email: item.email.toLowerCase() },
          ...(overwrite ? {} : { ConditionExpression: "attribute_not_exists(email)" }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
