import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { EarshotError, isEarshotError } from "../../core/errors";
import type { LanguageCode } from "../../core/languages";
import { languageCountAttribute, sessionItem, shardViewersAttribute, type SessionItem, type SessionStatus } from "../../core/schema";
import { generateSessionId } from "../../core/session-id";
import type { SessionRecognizer } from "../../core/speech";
import { StoreTable, isConditionFailure } from "./table";

/**
 * Session rows: creation, broadcast state, the speaker's connection, the
 * counts (listeners per language, viewers per signaling shard) that move by
 * atomic ADD as connection rows change, and the transcript's next seq.
 */

export interface NewSession {
  speakerId: string;
  title: string;
  sourceLanguage: LanguageCode;
  ttlSeconds: number;
  targetLanguages?: LanguageCode[];
  recognizer?: SessionRecognizer;
}

export type CountDeltas = Partial<Record<LanguageCode, number>>;

export class SessionRows extends StoreTable {
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
}
