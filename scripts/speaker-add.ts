/**
 * Adds an embedded speaker account:
 *
 *   npm run speaker:add -- EMAIL [--name NAME]
 *
 * The password comes from EARSHOT_SPEAKER_PASSWORD or, in a terminal, a
 * hidden prompt. When an Earshot runtime is running (its runtime.json names a
 * live process) the account goes into that runtime's store; otherwise the
 * script opens the on-disk store itself, adds the account and closes it.
 */
import { existsSync, readFileSync } from "node:fs";
import { ConfigError, getConfig } from "../lib/server/config";
import { isEarshotError } from "../lib/core/errors";
import { createDocumentClient } from "../lib/server/store/client";
import { Store } from "../lib/server/store/store";
import { embeddedPaths, ensureTables, startLocalDynamo, type LocalDynamo } from "../lib/server/embedded/local-dynamo";
import { addSpeaker, checkPassword, normalizeEmail } from "../lib/server/auth/speakers";

const USAGE = "Usage: npm run speaker:add -- EMAIL [--name NAME]\n  Password: EARSHOT_SPEAKER_PASSWORD, or typed at the prompt.";

class UsageError extends Error {}

function parseArgs(argv: string[]): { email: string; name?: string } {
  let email: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--name") {
      name = argv[++i];
      if (name === undefined) throw new UsageError("--name needs a value.");
    } else if (arg.startsWith("--name=")) {
      name = arg.slice("--name=".length);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`Unknown option ${arg}.`);
    } else if (email === undefined) {
      email = arg;
    } else {
      throw new UsageError(`Unexpected argument "${arg}" (quote a name with spaces: --name "Ada Lovelace").`);
    }
  }
  if (!email) throw new UsageError("Give the speaker's email address.");
  return { email, name };
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const { stdin, stdout } = process;
  return new Promise((resolve, reject) => {
    let value = "";
    stdout.write(question);
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.resume();
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      stdout.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of Array.from(chunk)) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003" || ch === "\u0004") return finish(new UsageError("Cancelled."));
        if (ch === "\u007f" || ch === "\b") value = Array.from(value).slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function readPassword(): Promise<string> {
  const fromEnv = process.env.EARSHOT_SPEAKER_PASSWORD;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) throw new UsageError("No terminal to ask for the password: set EARSHOT_SPEAKER_PASSWORD.");
  const password = await promptHidden("Password (at least 8 characters): ");
  checkPassword(password);
  if ((await promptHidden("Repeat the password: ")) !== password) throw new UsageError("The passwords do not match.");
  return password;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}

/** The store endpoint (and web port) of a runtime running on this data directory, if any. */
function runningRuntime(runtimeFile: string): { endpoint: string; port?: number } | undefined {
  if (!existsSync(runtimeFile)) return undefined;
  try {
    const info = JSON.parse(readFileSync(runtimeFile, "utf8")) as { pid?: unknown; endpoint?: unknown; port?: unknown };
    if (typeof info.pid === "number" && typeof info.endpoint === "string" && isAlive(info.pid)) {
      return { endpoint: info.endpoint, port: typeof info.port === "number" ? info.port : undefined };
    }
  } catch {
    // unreadable or half-written: treat as not running
  }
  return undefined;
}

async function main(): Promise<void> {
  const { email, name } = parseArgs(process.argv.slice(2));
  if (!normalizeEmail(email)) throw new UsageError(`"${email}" is not a valid email address.`);
  const config = getConfig();
  if (config.mode === "cloud") throw new UsageError("EARSHOT_MODE=cloud: speakers sign in with Cognito; add them to the user pool instead.");
  if (config.data.kind === "memory") {
    throw new UsageError("EARSHOT_DATA=memory keeps accounts only for the life of the process; use an on-disk EARSHOT_DATA.");
  }
  const password = await readPassword();
  checkPassword(password);

  const paths = embeddedPaths(config.data.path);
  const running = runningRuntime(paths.runtime);
  let endpoint = running?.endpoint;
  let local: LocalDynamo | undefined;
  if (!endpoint) {
    local = await startLocalDynamo(config.data);
    endpoint = local.endpoint;
  }
  const doc = createDocumentClient({ aws: { region: config.aws.region, dynamodbEndpoint: endpoint } });
  try {
    const store = new Store(doc, config.tablePrefix);
    if (local) await ensureTables(doc, config.tablePrefix);
    const speaker = await addSpeaker(store, email, password, name);
    const where = local ? `the store in ${paths.root}` : `the running Earshot's store (${endpoint})`;
    console.log(`Added speaker ${speaker.email} ("${speaker.name}") to ${where}.`);
    const site = running?.port && !process.env.EARSHOT_PUBLIC_URL ? `http://localhost:${running.port}` : config.publicUrl;
    console.log(`Sign in at ${site}/signin`);
  } finally {
    doc.destroy();
    await local?.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
  } else if (error instanceof ConfigError) {
    console.error(error.message);
  } else if (isEarshotError(error)) {
    console.error(error.message);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Could not add the speaker: ${message}`);
  }
  process.exit(1);
});
