import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../lib/config/index.js";
import { createTestDatabase, type TestDatabase } from "../lib/testing/postgres.js";
import { createTestQueuePrefix } from "../lib/testing/rabbitmq.js";
import { createTestKeyPrefix, type TestKeyPrefix } from "../lib/testing/redis.js";
import { createDeps, opening, openTogether, type ProcessDeps } from "./deps.js";

/**
 * The distributed profile opens PostgreSQL with the pool the configuration asks for: the
 * WHALESHARK_DATABASE__POOL_SIZE / __CONNECT_TIMEOUT_MS variables reach pg's pool.
 */
describe("createDeps (distributed): database.poolSize and database.connectTimeoutMs", () => {
  let testDb: TestDatabase;
  let keys: TestKeyPrefix;
  let deps: ProcessDeps;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    keys = createTestKeyPrefix();
    const queues = createTestQueuePrefix();
    const config = loadConfig({
      cwd: mkdtempSync(join(tmpdir(), "ws-deps-")),
      env: {
        WHALESHARK_PROFILE: "distributed",
        WHALESHARK_APPS: '{"10001":{"privateKey":"deps-test-key"}}',
        WHALESHARK_DATABASE_URL: testDb.url,
        WHALESHARK_REDIS_URL: keys.url,
        WHALESHARK_AMQP_URL: queues.url,
        WHALESHARK_REDIS__KEY_PREFIX: keys.prefix,
        WHALESHARK_AMQP__PREFIX: queues.prefix,
        WHALESHARK_DATABASE__POOL_SIZE: "2",
        WHALESHARK_DATABASE__CONNECT_TIMEOUT_MS: "300",
      },
    });
    expect(config.database).toMatchObject({ poolSize: 2, connectTimeoutMs: 300 });
    deps = await createDeps(config, pino({ level: "silent" }));
  });
  afterAll(async () => {
    await deps?.close();
    await keys?.cleanup();
    await testDb?.drop();
  });

  it("holds at most poolSize connections and fails a query that waits past connectTimeoutMs", async () => {
    const db = await deps.db();
    // Prisma queries start when awaited: Promise.all starts both now, filling the pool.
    const sleeping = Promise.all([1, 2].map(() => db.$queryRaw`SELECT pg_sleep(1.5)::text AS slept`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await expect(db.$queryRaw`SELECT 1 AS one`).rejects.toThrow(/timeout/);
    expect(Date.now() - started).toBeLessThan(1_200);
    await sleeping;
    // Afterwards the pool serves again, still from its two connections.
    const backends = await db.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()`;
    expect(backends[0]?.n).toBeLessThanOrEqual(2);
  });
});

/** createDeps connects Redis, RabbitMQ, discovery and the database side by side (start-up time). */
describe("openTogether", () => {
  it("resolves with every opened value, in the order given", async () => {
    const closed: string[] = [];
    const opened = await openTogether([
      opening(Promise.resolve("kv"), async (v) => void closed.push(v)),
      opening(Promise.resolve(2), async () => void closed.push("two")),
    ] as const);
    expect(opened).toEqual(["kv", 2]);
    expect(closed).toEqual([]);
  });

  it("when one fails, closes those that opened (after they did) and throws that failure", async () => {
    const closed: string[] = [];
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve("bus"), 50));
    const result = openTogether([
      opening(Promise.reject(new Error("redis down")), async () => void closed.push("kv")),
      opening(slow, async (v) => void closed.push(v)),
      opening(Promise.resolve("discovery"), async (v) => void closed.push(v)),
    ] as const);
    await expect(result).rejects.toThrow("redis down");
    expect(closed.sort()).toEqual(["bus", "discovery"]);
  });
});
