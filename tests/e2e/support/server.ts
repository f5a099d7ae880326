import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "@playwright/test";

/**
 * An embedded server of its own (a spec that restarts it, or runs it with the
 * engines off), started the way `npm start` runs it, on the production build;
 * the benchmarks (bench/run.ts) start theirs with the same environment.
 */

/** The environment of a test or benchmark server: loopback, its own data, limits raised through configuration only. */
export function embeddedServerEnv(options: { port: number; data: string; limit?: number; extra?: Record<string, string> }): NodeJS.ProcessEnv {
  const limit = String(options.limit ?? 100_000);
  const baseURL = `http://127.0.0.1:${options.port}`;
  return {
    ...process.env,
    NODE_ENV: "production",
    EARSHOT_DATA: options.data,
    PORT: String(options.port),
    HOST: "127.0.0.1",
    EARSHOT_PUBLIC_URL: baseURL,
    EARSHOT_LOG_LEVEL: "warn",
    EARSHOT_LIMIT_CONNECTS_PER_MINUTE: limit,
    EARSHOT_LIMIT_LOOKUPS_PER_MINUTE: limit,
    EARSHOT_LIMIT_FAILED_LOOKUPS_PER_MINUTE: limit,
    EARSHOT_LIMIT_MESSAGES_PER_10S: limit,
    EARSHOT_LIMIT_SESSIONS_PER_HOUR: limit,
    ...options.extra,
  };
}

export interface Server {
  child: ChildProcess;
  baseURL: string;
  exited: Promise<void>;
}

/** Starts lib/server/embedded/main.ts on `port` with `data` ("memory" or a directory). */
export function startServer(port: number, data: string, extra: Record<string, string> = {}): Server {
  const child = spawn(process.execPath, ["--import", "tsx", "lib/server/embedded/main.ts"], {
    env: embeddedServerEnv({ port, data, extra }),
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, baseURL: `http://127.0.0.1:${port}`, exited };
}

/** Resolves when /api/health answers 200; fails at once if the server exited. */
export async function healthy(server: Server): Promise<void> {
  await expect
    .poll(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode}`);
        return fetch(`${server.baseURL}/api/health`).then(
          (r) => r.status,
          () => 0,
        );
      },
      { message: "server healthy", timeout: 60_000, intervals: [100] },
    )
    .toBe(200);
}

/** Stops the server (SIGKILL by default) and waits for it to exit. */
export async function stopServer(server: Server | undefined, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill(signal);
  await server.exited;
}
