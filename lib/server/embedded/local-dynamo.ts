import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { TABLES, createTableInput, type TableKey } from "../../core/schema";

/**
 * The embedded store: dynalite (the DynamoDB wire protocol over LevelDB) on
 * loopback, on disk or in memory. The app talks to it with the same AWS SDK
 * code it uses against DynamoDB.
 */

/** Files of the embedded runtime under EARSHOT_DATA (default `.earshot/`). */
export function embeddedPaths(dataDir: string) {
  const root = resolve(dataDir);
  return {
    root,
    /** The LevelDB store. */
    db: resolve(root, "db"),
    /** Generated keys and secrets (mode 0600). */
    secrets: resolve(root, "secrets.json"),
    /** `{pid, port, endpoint}` while a runtime runs, so tools can reach its store. */
    runtime: resolve(root, "runtime.json"),
  };
}

export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

export async function startLocalDynamo(data: { kind: "memory" } | { kind: "disk"; path: string }): Promise<LocalDynamo> {
  const path = data.kind === "disk" ? embeddedPaths(data.path).db : undefined;
  if (path) mkdirSync(path, { recursive: true });
  // A worker thread of this process: the store's parsing and LevelDB work get the second core.
  const worker = new Worker(fileURLToPath(new URL("./dynalite-worker.mjs", pathToFileURL(__filename))), { workerData: { path } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.on("message", (msg: { type: string; port?: number; message?: string }) => {
      if (msg.type === "listening" && msg.port) resolve(msg.port);
      if (msg.type === "error") reject(new Error(`embedded store: ${msg.message}`));
    });
  });
  worker.unref();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((done) => worker.on("message", (msg: { type: string }) => msg.type === "closed" && done()));
      worker.postMessage({ type: "close" });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
    },
  };
}

/** Creates every table of the schema that does not exist yet, and waits until all are ACTIVE. */
export async function ensureTables(doc: DynamoDBDocumentClient, prefix: string): Promise<void> {
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const input = createTableInput(prefix, key);
    try {
      await doc.send(new CreateTableCommand(input));
    } catch (error) {
      if (!(error instanceof ResourceInUseException) && !(error instanceof Error && error.name === "ResourceInUseException")) throw error;
    }
    for (let i = 0; i < 100; i++) {
      const out = await doc.send(new DescribeTableCommand({ TableName: input.TableName }));
      if (out.Table?.TableStatus === "ACTIVE") break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
