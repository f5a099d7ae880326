import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Agent } from "node:http";
import type { Config } from "../config";

/**
 * The DynamoDB client, the same SDK code against DynamoDB or the embedded
 * store. Only the endpoint and credentials differ, and they come from config.
 */
export function createDocumentClient(config: Pick<Config, "aws">, options: { retries?: boolean } = {}): DynamoDBDocumentClient {
  const local = config.aws.dynamodbEndpoint;
  const client = new DynamoDBClient({
    region: config.aws.region,
    ...(local
      ? {
          endpoint: local,
          // The embedded store checks signatures' shape, not their keys.
          credentials: { accessKeyId: "earshot-local", secretAccessKey: "earshot-local" },
          requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
        }
      : {}),
    // A write that adds to a count is not idempotent: after a timeout or a dropped socket it may
    // have been applied, and a blind retry would count twice. Such writes go through a client
    // that does not retry; a failure surfaces, and the sweeper's reconcile repairs the count.
    ...(options.retries === false ? { maxAttempts: 1 } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
