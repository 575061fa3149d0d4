import { defineConfig } from "vitest/config";

// One run covers unit tests (beside the code) and cross-process tests (test/).
// Tests that need PostgreSQL, Redis, RabbitMQ or ZooKeeper use the real servers;
// `npm test` starts whatever is missing (scripts/services.sh).
export default defineConfig({
  test: {
    include: ["{app,lib,gateway,services,sdk,test,bench,prisma,scripts}/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
