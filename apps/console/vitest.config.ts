import { defineConfig } from "vitest/config";

// The page's logic that needs no DOM (error wording, rates, sorting, checksums); the page itself is tested in Chromium (tools/testkit/test/console.e2e.test.ts).
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
  },
});
