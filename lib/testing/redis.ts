import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { connectRedis } from "../adapters/redis/connection.js";
import { deleteKeysWithPrefix } from "../adapters/redis/keys.js";

/**
 * Redis that tests use. Redis 7 runs on every developer machine and in CI;
 * override with WHALESHARK_TEST_REDIS_URL to point elsewhere.
 */
export const testRedisUrl = process.env.WHALESHARK_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix of its own for one test, and how to remove its keys. */
export interface TestKeyPrefix {
  /** `ws_test_<hex>:`, unique per call. */
  prefix: string;
  url: string;
  /** Deletes exactly the keys under `prefix` (SCAN MATCH prefix*), never anything else. */
  cleanup(): Promise<void>;
}

/**
 * A unique key prefix on the shared test server, so parallel runs never see
 * each other's keys and nothing is ever flushed (docs/style.md §6).
 */
export function createTestKeyPrefix(): TestKeyPrefix {
  const prefix = `ws_test_${randomBytes(6).toString("hex")}:`;
  return {
    prefix,
    url: testRedisUrl,
    async cleanup() {
      const redis = await connectRedis({ url: testRedisUrl, logger: pino({ level: "silent" }) });
      try {
        await deleteKeysWithPrefix(redis, prefix);
      } finally {
        await redis.quit();
      }
    },
  };
}
