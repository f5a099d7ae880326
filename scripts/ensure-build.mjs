// `npm start` builds the Next app when no production build is present, or when the build predates the
// listener page's own assets (scripts/build-listener.mjs writes them during every `next build`, from
// next.config.ts; a checkout built before they existed has a .next without them).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

if (!existsSync(".next/BUILD_ID") || !existsSync("components/listener/page/assets.generated.js")) {
  console.log("  No production build yet: running `next build` once (about a minute)...\n");
  const result = spawnSync("npx", ["next", "build"], { stdio: "inherit", env: { ...process.env, NODE_ENV: "production" } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
