import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { segmentItem, type SegmentItem } from "../../core/schema";
import { StoreTable } from "./table";

/** Transcript segments: each final segment with its translations, for the transcript download. */
export class SegmentRows extends StoreTable {
  /** Stores (or replaces) one final segment with its translations. */
  async putSegment(item: SegmentItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tables.segments, Item: segmentItem.parse(item) }));
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
}
