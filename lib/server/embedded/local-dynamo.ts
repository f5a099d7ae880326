import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Worker, isMainThread } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, resolve } from "node:path";
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { TABLES, createTableInput, type TableKey } from "../../core/schema";

/**
 * The embedded store: dynalite (the DynamoDB wire protocol over LevelDB), on
 * disk or in memory. The app talks to it with the same AWS SDK code it uses
 * against DynamoDB.
 *
 * dynalite checks no signatures, so whoever reaches it may read and write
 * everything (password hashes included). It therefore listens on a Unix
 * socket in a fresh directory of mode 0700 (only this user, and root, can
 * enter it; nothing on the network or another local account can connect),
 * never on a TCP port, and refuses browser requests. On disk, the data
 * directory is 0700 and its files 0600. A Unix socket is also quicker than
 * loopback TCP for the SDK's many small requests (docs/RELIABILITY.md, Security).
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
    /** `{pid, port, endpoint}` while a runtime runs, so tools can reach its store (mode 0600). */
    runtime: resolve(root, "runtime.json"),
  };
}

export interface LocalDynamo {
  /** `unix:/…/store.sock`: EARSHOT_DYNAMODB_ENDPOINT for the store client (lib/server/store/client.ts). */
  endpoint: string;
  close(): Promise<void>;
}

/** Makes a directory tree private to this user: directories 0700, files 0600 (fixes data dirs made before). */
export function makePrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makePrivate(path);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}

export async function startLocalDynamo(data: { kind: "memory" } | { kind: "disk"; path: string }): Promise<LocalDynamo> {
  const paths = data.kind === "disk" ? embeddedPaths(data.path) : undefined;
  if (paths) {
    makePrivate(paths.root);
    mkdirSync(paths.db, { recursive: true, mode: 0o700 });
    // LevelDB creates files (logs, tables, compactions) as it goes, with the process's umask: make
    // everything this process creates from now on private too. Process-wide, so main thread only.
    if (isMainThread) process.umask(0o077);
  }
  // mkdtemp makes the directory 0700; short, so the socket path stays under the OS's ~100-byte limit.
  const socketDir = mkdtempSync(join(tmpdir(), "earshot-store-"));
  const socketPath = join(socketDir, "store.sock");
  // A worker thread of this process: the store's parsing and LevelDB work get the second core.
  const worker = new Worker(fileURLToPath(new URL("./dynalite-worker.mjs", pathToFileURL(__filename))), {
    workerData: { path: paths?.db, socketPath },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once("error", reject);
      worker.on("message", (msg: { type: string; message?: string }) => {
        if (msg.type === "listening") resolve();
        if (msg.type === "error") reject(new Error(`embedded store: ${msg.message}`));
      });
    });
  } catch (error) {
    await worker.terminate();
    rmSync(socketDir, { recursive: true, force: true });
    throw error;
  }
  worker.unref();
  return {
    endpoint: `unix:${socketPath}`,
    close: async () => {
      const closed = new Promise<void>((done) => worker.on("message", (msg: { type: string }) => msg.type === "closed" && done()));
      worker.postMessage({ type: "close" });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      await worker.terminate();
      rmSync(socketDir, { recursive: true, force: true });
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
