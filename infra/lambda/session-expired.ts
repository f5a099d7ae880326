import { KvsChannels } from "../../lib/server/cloud/kvs-channels";
import { createSessionExpiryHandler } from "../../lib/server/cloud/session-expiry";
import { createLogger } from "../../lib/server/logger";

/**
 * DynamoDB Streams consumer of the sessions table: when TTL deletes a session,
 * its KVS signaling channels are deleted too. Reads only AWS_REGION (set by
 * Lambda) and KVS_CHANNEL_PREFIX; the full config (token key etc.) is not needed here.
 */
const prefix = process.env.KVS_CHANNEL_PREFIX;
if (!prefix) throw new Error("KVS_CHANNEL_PREFIX is not set.");
const logger = createLogger("session-expired");

export const handler = createSessionExpiryHandler({
  channels: KvsChannels.forRegion(process.env.AWS_REGION ?? "us-east-1", { prefix, logger }),
  logger,
});
