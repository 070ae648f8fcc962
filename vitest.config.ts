import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/plain-summary-reporter.ts"],
    // Finds or starts the PostgreSQL the tests use, and says which (test/support/global-setup.ts).
    globalSetup: ["./test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/e2e/**"], sequence: { groupOrder: 0 } },
      },
      {
        // Each e2e file runs fleets of worker processes against one PostgreSQL (max_connections is
        // 100 here) and kills them; run them one at a time, after the rest, so they neither starve
        // each other of connections nor turn each other's timing into flakiness.
        extends: true,
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
