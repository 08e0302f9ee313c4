import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/relay/**/*.test.ts", "test/support/**/*.test.ts"],
    // Real peers on a shared 2-core machine: generous liveness limits, never performance claims.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Relay integration tests open many UDP sockets and peers: run files one at a time.
    fileParallelism: false,
    reporters: ["default"],
  },
});
