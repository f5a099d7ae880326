import type { Logger, MediaChannels } from "../control/ports";

/**
 * Removes the KVS signaling channels of sessions that DynamoDB's TTL deleted.
 * A session that was never ended (the speaker closed the tab) would otherwise
 * keep its channels forever, counting against the account's channel quota
 * (5,000 per region, 10,000 in us-east-1/us-west-2). Removal is idempotent,
 * so sessions whose channels endSession already removed cost one Describe.
 */

/** The parts of a DynamoDB Streams record (Lambda event) that are read. */
export interface StreamRecord {
  eventID?: string;
  eventName?: "INSERT" | "MODIFY" | "REMOVE";
  userIdentity?: { type?: string; principalId?: string };
  dynamodb?: { OldImage?: Record<string, { S?: string; N?: string } | undefined> };
}

export interface StreamEvent {
  Records: StreamRecord[];
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** A deletion made by the TTL process (not by the app). */
export function isTtlRemoval(record: StreamRecord): boolean {
  return (
    record.eventName === "REMOVE" &&
    record.userIdentity?.type === "Service" &&
    record.userIdentity.principalId === "dynamodb.amazonaws.com"
  );
}

export function expiredSession(record: StreamRecord): { sessionId: string; channelCount: number } | undefined {
  if (!isTtlRemoval(record)) return undefined;
  const image = record.dynamodb?.OldImage;
  const sessionId = image?.sessionId?.S;
  if (!sessionId) return undefined;
  const count = Number(image?.channelCount?.N ?? "1");
  return { sessionId, channelCount: Number.isSafeInteger(count) && count > 0 ? count : 1 };
}

export function createSessionExpiryHandler(deps: { channels: MediaChannels; logger: Logger }): (event: StreamEvent) => Promise<BatchResponse> {
  return async (event) => {
    const failures: BatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      const expired = expiredSession(record);
      if (!expired) continue;
      try {
        await deps.channels.remove(expired.sessionId, expired.channelCount);
        deps.logger.info("expired session's channels removed", expired);
      } catch (error) {
        deps.logger.error("could not remove an expired session's channels", { ...expired, error });
        // Lambda retries from this record on (ReportBatchItemFailures).
        if (record.eventID) failures.push({ itemIdentifier: record.eventID });
      }
    }
    return { batchItemFailures: failures };
  };
}
