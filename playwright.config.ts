import { defineConfig } from "@playwright/test";
import { CHROMIUM, E2E_BASE_URL, E2E_PORT, chromiumArgs } from "./tests/e2e/support/env";

/**
 * End-to-end tests: real Chromium (the system one; never `playwright install`)
 * with a fake microphone playing a 440 Hz tone, real WebRTC, and the real
 * server: the production build (`npm run test:e2e` runs `next build` first)
 * started as `npm start` starts it, with throwaway stores and raised limits.
 */
export default defineConfig({
  testDir: "tests/e2e",
  testMatch: "*.spec.ts",
  globalSetup: "./tests/e2e/global-setup.ts",
  // One worker: the machine has two cores and each test runs a dozen pages.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // One retry on CI only, and Playwright reports a test that needed it as "flaky": fanout.spec has failed once
  // in three runs with a listener stuck reconnecting on the shared 2-core machine (not yet explained; see
  // docs/RELIABILITY.md). Locally a failure stays a failure.
  retries: process.env.CI ? 1 : 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: E2E_BASE_URL,
    browserName: "chromium",
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: { executablePath: CHROMIUM, args: chromiumArgs() },
  },
  webServer: {
    command: "node --import tsx lib/server/embedded/main.ts",
    url: `${E2E_BASE_URL}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      NODE_ENV: "production",
      EARSHOT_DATA: "memory",
      PORT: String(E2E_PORT),
      HOST: "127.0.0.1",
      EARSHOT_PUBLIC_URL: E2E_BASE_URL,
      EARSHOT_LOG_LEVEL: "warn",
      EARSHOT_LIMIT_CONNECTS_PER_MINUTE: "100000",
      EARSHOT_LIMIT_LOOKUPS_PER_MINUTE: "100000",
      EARSHOT_LIMIT_FAILED_LOOKUPS_PER_MINUTE: "100000",
      EARSHOT_LIMIT_MESSAGES_PER_10S: "100000",
      EARSHOT_LIMIT_SESSIONS_PER_HOUR: "100000",
    },
  },
});
