import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { unitTestFiles } from "./test/architecture/unit-tier.js";
import { shared } from "./vitest.config.js";

const root = dirname(fileURLToPath(import.meta.url));

// `npm run test:unit`: the tests that need no server, on the memory adapters, in seconds. Which
// tests those are is read from their imports (test/architecture/unit-tier.ts), so a new test
// lands in its tier by itself. The servers' test URLs point at a closed port: a test that needs
// one after all fails here at once instead of passing only where the servers happen to run.
const closed = "127.0.0.1:1";
export default defineConfig({
  test: {
    ...shared,
    include: unitTestFiles(root),
    env: {
      WHALESHARK_TEST_DATABASE_URL: `postgresql://postgres@${closed}/postgres`,
      WHALESHARK_TEST_REDIS_URL: `redis://${closed}`,
      WHALESHARK_TEST_AMQP_URL: `amqp://guest:guest@${closed}`,
      WHALESHARK_TEST_ZOOKEEPER: closed,
    },
  },
});
