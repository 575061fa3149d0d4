import { type Logger, pino } from "pino";
import { MemoryBus } from "../../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { openPgliteDatabase } from "../../../lib/adapters/pglite/database.js";
import { RabbitMqBus } from "../../../lib/adapters/rabbitmq/bus.js";
import { RedisKvStore } from "../../../lib/adapters/redis/kv-store.js";
import type { Bus } from "../../../lib/ports/bus.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { createTestDatabase, type TestDatabase } from "../../../lib/testing/postgres.js";
import { createTestQueuePrefix, type TestQueuePrefix } from "../../../lib/testing/rabbitmq.js";
import { createTestKeyPrefix, type TestKeyPrefix } from "../../../lib/testing/redis.js";
import { removeTestRoot, uniqueZookeeperRoot } from "../../../lib/testing/zookeeper.js";

/** The tests' logger: silent unless WHALESHARK_TEST_LOG names a level. */
export function testLogger(): Logger {
  return pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });
}

/** Which adapter backs each port (docs/style.md §1: the memory twins or the real servers). */
export interface Adapters {
  kv?: "memory" | "redis";
  bus?: "memory" | "rabbitmq";
  /** postgres: a fresh migrated database; pglite: in memory, migrated on open; none: no database. */
  db?: "postgres" | "pglite" | "none";
}

/** A database of one test, whichever adapter. `url` only for PostgreSQL. */
export interface TestDb {
  db: Database;
  url?: string;
  /** Disconnects and drops (PostgreSQL) or discards (PGlite) the database. */
  close(): Promise<void>;
}

/** The PostgreSQL url of a test database, undefined for PGlite (whose handle may name itself `pglite:`). */
export function postgresUrl(db: TestDb | undefined): string | undefined {
  return db?.url !== undefined && /^postgres(ql)?:\/\//.test(db.url) ? db.url : undefined;
}

/** What {@link freshResources} makes. */
export interface ResourceOptions extends Adapters {
  /** A kv the caller owns and shares with other roles: used instead of a fresh one, never closed. */
  givenKv?: KvStore;
  /** A bus the caller owns and shares: used instead of a fresh one, never closed. */
  givenBus?: Bus;
  /** Opens the database instead of `db` (e.g. one shared with another harness); closed by close(). */
  database?: () => Promise<TestDb>;
  /** PostgreSQL pool size of the harness's own connection (default 6). */
  poolSize?: number;
  /**
   * false: an empty PostgreSQL database, left to `whaleshark migrate` (role processes); its url is
   * in `postgres`, and `db` stays undefined.
   */
  migrate?: boolean;
  /** Redis to use instead of the shared test server (a test Redis Cluster); its keys are not cleaned up. */
  redisUrl?: string;
  /** Also picks a ZooKeeper root of its own (discovery of role processes). */
  zookeeper?: boolean;
}

/**
 * Fresh, private resources on the chosen adapters for one test (docs/style.md §6): a kv (memory, or
 * Redis under a unique key prefix), a bus (memory, or RabbitMQ under a unique queue prefix), a
 * database (a fresh migrated PostgreSQL one, or PGlite) and optionally a ZooKeeper root. Real
 * adapters hand out one connection per call, as separate processes would open theirs; memory ones
 * the one shared instance. `close()` closes every connection and removes exactly what was made.
 */
export interface Resources {
  readonly adapters: Required<Adapters>;
  /** The key prefix (kv "redis"). */
  readonly keys: TestKeyPrefix | undefined;
  /** The Redis url (kv "redis"). */
  readonly redisUrl: string | undefined;
  /** The queue prefix (bus "rabbitmq"). */
  readonly queues: TestQueuePrefix | undefined;
  /** The empty database (`migrate: false`). */
  readonly postgres: TestDatabase | undefined;
  /** The migrated database, undefined with db "none" or `migrate: false`. */
  readonly db: TestDb | undefined;
  /** The ZooKeeper root (`zookeeper: true`). */
  readonly zookeeperRoot: string | undefined;
  /** A kv on the resources' data: a new connection (Redis), else the shared one. */
  kv(opts?: { cluster?: boolean; logger?: Logger }): Promise<KvStore>;
  /** A bus on the resources' queues: a new connection (RabbitMQ), else the shared one. */
  bus(opts?: { queueType?: "classic" | "quorum"; logger?: Logger }): Promise<Bus>;
  /**
   * Closes every connection handed out, then removes the queues they created and `extraQueues`
   * (physical names, e.g. made by role processes), the keys, the database and the ZooKeeper root.
   * Never throws: a cleanup after a failed test gets as far as it can.
   */
  close(extraQueues?: Iterable<string>): Promise<void>;
}

/** Makes the resources of one test; see {@link Resources}. */
export async function freshResources(opts: ResourceOptions = {}): Promise<Resources> {
  const adapters: Required<Adapters> = {
    kv: opts.kv ?? "memory",
    bus: opts.bus ?? "memory",
    db: opts.db ?? "postgres",
  };
  const keys = adapters.kv === "redis" && opts.givenKv === undefined ? createTestKeyPrefix() : undefined;
  const redisUrl = keys === undefined ? undefined : (opts.redisUrl ?? keys.url);
  const queues =
    adapters.bus === "rabbitmq" && opts.givenBus === undefined ? createTestQueuePrefix() : undefined;
  const zookeeperRoot = opts.zookeeper ? uniqueZookeeperRoot() : undefined;
  let postgres: TestDatabase | undefined;
  let db: TestDb | undefined;
  if (opts.database !== undefined) db = await opts.database();
  else if (adapters.db === "postgres" && opts.migrate === false) postgres = await createTestDatabase();
  else if (adapters.db === "postgres") db = await migratedTestDatabase(opts.poolSize);
  else if (adapters.db === "pglite") db = await openPgliteDatabase();

  const kvs: KvStore[] = [];
  const buses: Bus[] = [];
  const rabbits: RabbitMqBus[] = [];
  let memoryKv: KvStore | undefined;
  let memoryBus: Bus | undefined;

  return {
    adapters,
    keys,
    redisUrl,
    queues,
    postgres,
    db,
    zookeeperRoot,
    async kv(o = {}) {
      if (opts.givenKv !== undefined) return opts.givenKv;
      if (keys === undefined || redisUrl === undefined) {
        memoryKv ??= new MemoryKvStore();
        if (!kvs.includes(memoryKv)) kvs.push(memoryKv);
        return memoryKv;
      }
      const kv = await RedisKvStore.connect({
        url: redisUrl,
        keyPrefix: keys.prefix,
        cluster: o.cluster ?? false,
        logger: o.logger ?? testLogger(),
      });
      kvs.push(kv);
      return kv;
    },
    async bus(o = {}) {
      if (opts.givenBus !== undefined) return opts.givenBus;
      if (queues === undefined) {
        memoryBus ??= new MemoryBus();
        if (!buses.includes(memoryBus)) buses.push(memoryBus);
        return memoryBus;
      }
      const bus = await RabbitMqBus.connect({
        url: queues.url,
        prefix: queues.prefix,
        queueType: o.queueType,
        logger: o.logger ?? testLogger(),
      });
      buses.push(bus);
      rabbits.push(bus);
      return bus;
    },
    async close(extraQueues = []) {
      const created = [...rabbits.flatMap((b) => b.createdQueues()), ...extraQueues];
      const steps: Array<() => Promise<unknown> | undefined> = [
        ...buses.splice(0).map((b) => () => b.close()),
        ...kvs.splice(0).map((kv) => () => kv.close()),
        () => queues?.cleanup(created),
        // Keys on a Redis of the test's own (redisUrl) go with that server.
        () => (opts.redisUrl === undefined ? keys?.cleanup() : undefined),
        () => db?.close(),
        () => postgres?.drop(),
        () => (zookeeperRoot === undefined ? undefined : removeTestRoot(zookeeperRoot)),
      ];
      for (const step of steps)
        await Promise.resolve()
          .then(step)
          .catch(() => undefined);
    },
  };
}
