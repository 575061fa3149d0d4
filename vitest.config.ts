import { configDefaults, defineConfig } from "vitest/config";

// One run covers unit tests (beside the code) and cross-process tests (test/).
// Tests that need PostgreSQL, Redis, RabbitMQ or ZooKeeper use the real servers;
// `npm test` starts whatever is missing (scripts/services.sh).

/** What every test run shares (also `npm run test:unit`, vitest.unit.config.ts). */
export const shared = {
  environment: "node",
  pool: "forks",
  testTimeout: 20_000,
  hookTimeout: 60_000,
} as const;

/**
 * The tests that measure recovery under load (issue 15's chaos tests: a role killed or Redis wiped
 * under a steady load, then the ACK latency asserted against the same run's own latency before
 * the fault). They run after everything else and one at a time, so the 2-core machine's other
 * test files do not stand in for the fault being measured.
 */
const TIMED = ["test/cluster/chaos*.test.ts"];

/** Every test file: unit tests beside the code, cross-process tests in test/. */
const ALL = ["{app,lib,gateway,services,sdk,test,bench,prisma,scripts}/**/*.test.ts"];

export default defineConfig({
  test: {
    ...shared,
    // Projects inherit `shared` (extends: true) and run by groupOrder: the suite, then the timed.
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ALL,
          exclude: [...configDefaults.exclude, ...TIMED],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "timed", include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
