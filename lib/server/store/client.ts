import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Agent } from "node:http";
import type { Config } from "../config";

/**
 * The DynamoDB client, the same SDK code against DynamoDB or the embedded
 * store. Only the endpoint and credentials differ, and they come from config.
 */
export function createDocumentClient(config: Pick<Config, "aws">): DynamoDBDocumentClient {
  const local = config.aws.dynamodbEndpoint;
  const client = new DynamoDBClient({
    region: config.aws.region,
    ...(local
      ? {
          endpoint: local,
          // The embedded store checks signatures' shape, not their keys.
          credentials: { accessKeyId: "earshot-local", secretAccessKey: "earshot-local" },
          requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
          maxAttempts: 3,
        }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
