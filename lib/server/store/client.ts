import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Agent } from "node:http";
import { createConnection } from "node:net";
import type { Config } from "../config";

/**
 * The DynamoDB client, the same SDK code against DynamoDB or the embedded
 * store. Only the endpoint and credentials differ, and they come from config.
 *
 * An endpoint `unix:/path/store.sock` is the embedded store's Unix socket
 * (lib/server/embedded/local-dynamo.ts): requests go to `http://localhost`
 * over connections to that socket.
 */
export function createDocumentClient(config: Pick<Config, "aws">, options: { retries?: boolean } = {}): DynamoDBDocumentClient {
  const local = config.aws.dynamodbEndpoint;
  const socketPath = local?.startsWith("unix:") ? decodeURIComponent(new URL(local).pathname) : undefined;
  const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  if (socketPath) httpAgent.createConnection = () => createConnection({ path: socketPath });
  const client = new DynamoDBClient({
    region: config.aws.region,
    ...(local
      ? {
          endpoint: socketPath ? "http://localhost" : local,
          // The embedded store checks no signatures: it is reachable only by this server (its socket's directory is 0700).
          credentials: { accessKeyId: "earshot-local", secretAccessKey: "earshot-local" },
          requestHandler: { httpAgent },
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
