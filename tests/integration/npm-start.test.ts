import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { TokenSigner, generateKeyPairPem } from "../../lib/server/tokens";
import { TestClient, startTestRuntime } from "./harness";

/**
 * `npm start` and `npm run dev` as a process manager runs them: the signal
 * goes to the npm process itself (not to Node). The server must close its
 * clients with 1012, flush the store, exit 0 and leave no process behind.
 *
 * `npm start` builds the web app first when there is no production build
 * (`scripts/ensure-build.mjs`); the file does that once before its tests.
 */

const ISSUER = "earshot";
const cleanup: (() => Promise<void> | void)[] = [];
beforeAll(() => {
  // What `npm start` does first when there is no production build, done here so it does not count against a test.
  const built = spawnSync(process.execPath, ["scripts/ensure-build.mjs"], { stdio: "inherit" });
  expect(built.status).toBe(0);
}, 900_000);
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** Every process below `root` now (Linux /proc). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid !== pid) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });
}

async function startNpm(script: "start" | "dev", dataDir: string, keys: { privateKey: string; publicKey: string }) {
  // As in a user's shell: no NODE_ENV (vitest sets "test"), no public URL.
  const { NODE_ENV: _nodeEnv, EARSHOT_PUBLIC_URL: _publicUrl, EARSHOT_PUBLIC_URL_SOURCE: _source, ...inherited } = process.env;
  const env: Record<string, string | undefined> = { ...inherited, PORT: "0", HOST: "127.0.0.1", EARSHOT_DATA: dataDir, EARSHOT_LOG_LEVEL: "warn" };
  env.EARSHOT_TOKEN_PRIVATE_KEY = keys.privateKey;
  env.EARSHOT_TOKEN_PUBLIC_KEY = keys.publicKey;
  const npm: ChildProcess = spawn("npm", script === "start" ? ["start"] : ["run", "dev"], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once("exit", (code, signal) => resolve({ code, signal })));
  cleanup.push(() => {
    if (npm.exitCode === null && npm.signalCode === null) npm.kill("SIGKILL");
  });
  let output = "";
  npm.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const lines = createInterface({ input: npm.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    void exited.then((e) => reject(new Error(`npm ${script} exited early (${JSON.stringify(e)}): ${output}`)));
    lines.on("line", (line) => {
      output += line + "\n";
      const m = /^\s*Local:\s+http:\/\/localhost:(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return { npm, port, exited, output: () => output };
}

describe.each([
  ["start", "SIGTERM"],
  ["start", "SIGINT"],
  ["dev", "SIGTERM"],
] as const)("npm %s, then %s to the npm process", (script, signal) => {
  it("closes clients with 1012, flushes the store, exits 0 and leaves no process behind", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "earshot-npm-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const keys = await generateKeyPairPem();
    const { npm, port, exited, output } = await startNpm(script, dataDir, keys);
    const tree = descendants(npm.pid!);
    cleanup.push(() => void tree.filter(running).forEach((pid) => process.kill(pid, "SIGKILL")));
    const serverPid = (JSON.parse(readFileSync(join(dataDir, "runtime.json"), "utf8")) as { pid: number }).pid;
    // No shell between npm and the server: npm's own child is the server.
    expect(tree[0]).toBe(serverPid);

    // A speaker with a session and a joined listener, over real sockets.
    const remote = { port } as EmbeddedRuntime;
    const signer = await TokenSigner.fromPem(keys.privateKey, ISSUER);
    const { token } = await signer.speakerToken({ speakerId: "speaker-npm", email: "speaker-npm@example.com" });
    const speaker = await TestClient.connect(remote, { token });
    const created = await speaker.request({ action: "createSession", sourceLanguage: "en" });
    if (created.type !== "sessionCreated") throw new Error(JSON.stringify(created));
    // The source language: a listener may pick it whatever engines this machine has.
    const listener = await TestClient.connect(remote, { sessionId: created.sessionId, targetLanguage: "en" });
    expect(await listener.request({ action: "joinSession", sessionId: created.sessionId, targetLanguage: "en" })).toMatchObject({ type: "sessionJoined", listenerCount: 1 });

    // And whatever the server started since (speech engines warm up in the background).
    for (const pid of descendants(npm.pid!)) if (!tree.includes(pid)) tree.push(pid);
    npm.kill(signal);
    expect(await speaker.closed).toMatchObject({ code: 1012 });
    expect(await listener.closed).toMatchObject({ code: 1012 });
    const exit = await exited;
    expect(exit, output()).toEqual({ code: 0, signal: null });
    expect(output()).toContain(`${signal}: closing connections (1012) and flushing the store`);
    // Nothing left behind: the server and anything it started are gone, the port is free, the runtime file removed.
    await expect.poll(() => tree.filter(running), { timeout: 10_000 }).toEqual([]);
    expect(await portRefuses(port)).toBe(true);
    expect(existsSync(join(dataDir, "runtime.json"))).toBe(false);

    // The store was flushed: the session is on disk, its listener un-counted by the graceful $disconnect.
    const reopened = await startTestRuntime({ EARSHOT_DATA: dataDir, EARSHOT_TOKEN_PRIVATE_KEY: keys.privateKey, EARSHOT_TOKEN_PUBLIC_KEY: keys.publicKey });
    try {
      const session = await reopened.services.store.getSession(created.sessionId, true);
      expect(session).toMatchObject({ sessionId: created.sessionId, listenerCount: 0 });
    } finally {
      await reopened.close();
    }
  }, 300_000);
});
