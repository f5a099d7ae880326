import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { LanguageCode } from "../../core/languages";
import { CONNECTION_TTL_SECONDS, connectionItem, type ConnectionItem, type Role } from "../../core/schema";
import { StoreTable, isConditionFailure } from "./table";

/**
 * Connection rows (one per control WebSocket: its role, session, joined
 * language, signaling shard) and the resume keys that let a listener's new
 * connection replace its old one. Every change returns the row as it was, so
 * the caller moves the session's counts by the exact difference.
 */

function resumeKeyOf(sessionId: string, clientKey: string): string {
  return `${sessionId}#${clientKey}`;
}

export class ConnectionRows extends StoreTable {
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
}
