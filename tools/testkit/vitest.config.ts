import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // long/: tests of minutes (pnpm test:long), kept out of the default suite.
    include: process.env.TRAINFS_LONG_TESTS ? ["long/**/*.test.ts"] : ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Cluster tests start real servers; give them room on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
