import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { TestClient, createSession, joinAsListener, startTestRuntime } from "./harness";

/** A runtime in its own process, so the test can kill -9 it. */
async function spawnServer(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/integration/fixtures/control-server.ts"], {
    env: {
      ...process.env,
      NODE_ENV: "test",
      EARSHOT_DATA: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      EARSHOT_LOG_LEVEL: "error",
      EARSHOT_LIMIT_CONNECTS_PER_MINUTE: "100000",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    lines.on("line", (line) => {
      if (line.startsWith("{")) resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { child, port };
}

/** The harness's helpers take a runtime; they only need its port and a signer, which a spawned process lacks. */
function remote(port: number, signerFrom: EmbeddedRuntime): EmbeddedRuntime {
  return { ...signerFrom, port } as EmbeddedRuntime;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

describe("a missed $disconnect", () => {
  it("is swept and the counts corrected", async () => {
    const runtime = await startTestRuntime();
    cleanup.push(() => runtime.close());
    const { sessionId, speaker } = await createSession(runtime);
    const real = await joinAsListener(runtime, sessionId, "en");
    // A ghost: a counted listener row whose socket no longer exists (its $disconnect never ran).
    const store = runtime.services.store;
    await store.putConnection({ connectionId: "ghost-1", role: "listener", sessionId, targetLanguage: "fr" });
    await store.markJoined("ghost-1", sessionId, "fr");
    await store.adjustCounts(sessionId, { fr: 1 });
    // And drift: the stored counts say 5 more English listeners than there are (a count write that was lost).
    await store.adjustCounts(sessionId, { en: 5 });
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(7);

    // A session whose counts just moved is not corrected (a join may be in flight)...
    const busy = await runtime.plane.sweep((c) => runtime.gateway.has(c.connectionId), { graceMs: 0, settleMs: 0 });
    expect(busy).toMatchObject({ removed: 1, corrected: 0 });
    expect((await store.getSession(sessionId, true))?.listenerCount).toBe(6);
    // ...once it has stood still, it is.
    const report = await runtime.plane.sweep((c) => runtime.gateway.has(c.connectionId), { graceMs: 0, quietMs: 0, settleMs: 20 });
    expect(report.corrected).toBe(1);
    const after = await store.getSession(sessionId, true);
    expect([after?.listenerCount, after?.count_en, after?.count_fr]).toEqual([1, 1, 0]);
    await speaker.next("sessionStatus", (m) => m.listenerCount === 1);
    // A live listener is untouched.
    expect(await real.request({ action: "heartbeat" })).toMatchObject({ type: "heartbeatAck" });
    await Promise.all([real.close(), speaker.close()]);
  });
});

describe("kill -9 of the embedded server", () => {
  it("loses no session; stale connections are swept and counts rebuilt from who comes back", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "earshot-restart-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // The harness helpers take a runtime object; an in-process one supplies its shape, and the
    // spawned server's own key (from its secrets file) signs the speaker token.
    const first = await spawnServer(dataDir);
    cleanup.push(() => void first.child.kill("SIGKILL"));
    const minter = await startTestRuntime({ EARSHOT_DATA: join(dataDir, "minter") });
    cleanup.push(() => minter.close());
    const { readFileSync } = await import("node:fs");
    const secrets = JSON.parse(readFileSync(join(dataDir, "secrets.json"), "utf8")) as { privateKey: string };
    const { TokenSigner } = await import("../../lib/server/tokens");
    const signer = await TokenSigner.fromPem(secrets.privateKey, minter.config.tokens.issuer);
    const rt = (port: number) => remote(port, { ...minter, services: { ...minter.services, signer } } as EmbeddedRuntime);

    // Listeners may pick only languages the session offers: Spanish, which Apertium serves.
    const { sessionId, speaker, token } = await createSession(rt(first.port), { targetLanguages: ["es"] });
    const listeners = await Promise.all(["en", "en", "es"].map((lang) => joinAsListener(rt(first.port), sessionId, lang)));
    expect(await speaker.request({ action: "getSessionStatus" })).toMatchObject({ listenerCount: 3 });

    first.child.kill("SIGKILL");
    await Promise.all([speaker.closed, ...listeners.map((l) => l.closed)]);

    const second = await spawnServer(dataDir);
    cleanup.push(() => void second.child.kill("SIGKILL"));
    // The session survived; the restart swept the three stale rows.
    const speakerAgain = await TestClient.connect(rt(second.port), { sessionId, token });
    expect(await speakerAgain.request({ action: "getSessionStatus" })).toMatchObject({ type: "sessionStatus", sessionId, listenerCount: 0 });
    // Two of the three come back.
    const back = await Promise.all(["en", "es"].map((lang) => joinAsListener(rt(second.port), sessionId, lang)));
    expect(await speakerAgain.request({ action: "getSessionStatus" })).toMatchObject({ listenerCount: 2, languageDistribution: { en: 1, es: 1 } });
    await Promise.all([...back.map((c) => c.close()), speakerAgain.close()]);

    // SIGTERM: graceful, clients are told 1012 (service restart).
    const client = await joinAsListener(rt(second.port), sessionId, "en");
    second.child.kill("SIGTERM");
    expect((await client.closed).code).toBe(1012);
  });
});
