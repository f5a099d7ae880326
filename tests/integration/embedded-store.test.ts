/**
 * Security review, finding 4: the embedded store (dynalite) answered anyone on
 * the machine at 127.0.0.1:<random port>, with any signature and
 * `Access-Control-Allow-Origin: *`; a local process read every table (password
 * hashes too) and wrote sessions and speakers. Its data directory was 0755 and
 * its files 0644. Now: a Unix socket in a 0700 directory, browser requests
 * refused, data 0700/0600.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedRuntime } from "../../lib/server/embedded/runtime";
import { createSession, startTestRuntime } from "./harness";

let runtime: EmbeddedRuntime;
let dataDir: string;

beforeAll(async () => {
  dataDir = join(mkdtempSync(join(tmpdir(), "earshot-store-test-")), "data");
  runtime = await startTestRuntime({ EARSHOT_DATA: dataDir });
});
afterAll(async () => {
  await runtime?.close();
  rmSync(dirname(dataDir), { recursive: true, force: true });
});

function socketPath(): string {
  const endpoint = runtime.config.aws.dynamodbEndpoint ?? "";
  expect(endpoint).toMatch(/^unix:\//);
  return new URL(endpoint).pathname;
}

/** A raw DynamoDB call over the store's socket, as any client of it would send. */
function rawCall(headers: Record<string, string>, method = "POST"): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socketPath(), path: "/", method, headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.ListTables", ...headers } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

describe("the embedded store (security review, finding 4)", () => {
  it("listens on no TCP port: a Unix socket in a directory only this user may enter", () => {
    const path = socketPath();
    const dir = statSync(dirname(path));
    expect(dir.mode & 0o777).toBe(0o700);
    expect(dir.uid).toBe(process.getuid!());
    expect(statSync(path).isSocket()).toBe(true);
  });

  it("refuses another local account: a process running as `nobody` cannot reach it (the reported attack read every table)", async () => {
    // The attack needs no credentials, only a connection; the kernel refuses it at the directory.
    // Reproducing it as another user needs root (to switch users); as any other user the mode check above is the test.
    if (process.getuid!() !== 0) {
      expect(statSync(dirname(socketPath())).mode & 0o077).toBe(0);
      return;
    }
    const script = `
      const req = require("node:http").request({ socketPath: ${JSON.stringify(socketPath())}, path: "/", method: "POST",
        headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.Scan" } },
        (res) => { console.log("ANSWERED " + res.statusCode); res.resume(); });
      req.on("error", (e) => console.log("REFUSED " + e.code));
      req.end(JSON.stringify({ TableName: "earshot-speakers" }));`;
    const child = spawn(process.execPath, ["-e", script], { uid: 65534, gid: 65534, cwd: "/" });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on("close", resolve));
    expect(out.trim()).toBe("REFUSED EACCES");
  });

  it("answers no browser: a request with an Origin (a CORS preflight too) is refused without CORS headers", async () => {
    const preflight = await rawCall({ origin: "http://evil.example", "access-control-request-method": "POST" }, "OPTIONS");
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    const post = await rawCall({ origin: "http://evil.example" });
    expect(post.status).toBe(403);
    expect(post.headers["access-control-allow-origin"]).toBeUndefined();
    expect(post.body).toMatch(/AccessDeniedException/);
    // The server itself is still served (the positive control), through the same socket.
    const own = await runtime.services.store.doc.send(new ListTablesCommand({}));
    expect(own.TableNames).toContain("earshot-speakers");
  });

  it("keeps its data directory 0700 and its files 0600, those LevelDB writes later too", async () => {
    const { speaker } = await createSession(runtime);
    await speaker.close();
    const walk = (dir: string): void => {
      expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else expect(statSync(path).mode & 0o777, path).toBe(0o600);
      }
    };
    walk(dataDir);
    expect(readdirSync(join(dataDir, "db")).length).toBeGreaterThan(0);
  });
});
