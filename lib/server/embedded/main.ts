import { ConfigError } from "../config";
import { addressLines, localUrl } from "./network";
import { startEmbedded } from "./runtime";

/**
 * `npm start` (production build) and `npm run dev` (hot reload): the whole
 * of Earshot in this one process.
 */
// Earshot supports Node 20 and later; the AWS SDK's notice about its own future Node 22 floor is not news at every start.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

async function main(): Promise<void> {
  const dev = process.argv.includes("--dev");
  const started = Date.now();
  const runtime = await startEmbedded({ web: dev ? "dev" : "prod" });
  const { config } = runtime;
  const store = config.data.kind === "memory" ? "in memory (EARSHOT_DATA=memory)" : `on disk in ${config.data.path}/`;
  const password = process.env.EARSHOT_DEMO_PASSWORD ? "the password in EARSHOT_DEMO_PASSWORD" : `"${config.demoPassword}"`;
  console.log(
    [
      "",
      `  Earshot is running  (${dev ? "dev, hot reload" : "production build"}, ready in ${Date.now() - started} ms)`,
      "",
      ...addressLines(runtime.port, config.host, runtime.url, runtime.urlSource),
      "",
      `  Speak:    ${localUrl(runtime.port, config.host)}/speaker   sign in as speaker@earshot.local with ${password}`,
      `  Listen:   ${runtime.url}/join`,
      `  Store:    ${store}`,
      `  Speech:   ${runtime.speech.describe()}`,
      "",
      "  Add a speaker:  npm run speaker:add -- you@example.com",
      "",
    ].join("\n"),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n  ${signal}: closing connections (1012) and flushing the store...`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    runtime.close().then(
      () => process.exit(0),
      (error: unknown) => (console.error(error), process.exit(1)),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`\n  Earshot cannot start.\n${error.message}\n  See the configuration table in README.md.\n`);
  } else {
    console.error("\n  Earshot cannot start:", error instanceof Error ? error.message : error, "\n");
    if (process.env.EARSHOT_LOG_LEVEL === "debug") console.error(error);
  }
  process.exit(1);
});
