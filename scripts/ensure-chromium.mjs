// Browser tests drive a system Chromium. Use /usr/bin/chromium (or CHROMIUM_PATH) when present;
// as root on Debian/Ubuntu, install it with apt; elsewhere, say how to get one.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

const wanted = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
if (existsSync(wanted)) process.exit(0);

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (isRoot && existsSync("/usr/bin/apt-get")) {
  console.log("  Installing Chromium for the browser tests (apt-get install chromium)...");
  const run = (args) => spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (run(["update", "-qq"]).status === 0 && run(["install", "-y", "-qq", "chromium"]).status === 0 && existsSync(wanted)) process.exit(0);
}
console.error(
  `\n  No Chromium at ${wanted}. Install one (Debian/Ubuntu: sudo apt-get install -y chromium),\n` +
    "  or set CHROMIUM_PATH to a Chromium/Chrome binary, or run `npx playwright install chromium`\n" +
    "  and set CHROMIUM_PATH to the path it prints.\n",
);
process.exit(1);
