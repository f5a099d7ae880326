import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

/** Whole-server tests (1,000 listeners at once; `npm start` processes with Next): run after the rest, not beside it. */
const HEAVY = ["tests/integration/venue.test.ts", "tests/integration/npm-start.test.ts"];

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL(".", import.meta.url)) } },
  test: {
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "main", include: ["tests/unit/**/*.test.ts", "tests/integration/**/*.test.ts", "infra/test/**/*.test.ts"], exclude: HEAVY },
      },
      { extends: true, test: { name: "whole-server", include: HEAVY, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
