import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { Logger } from "pino";
import { PrismaClient } from "../gen/prisma/client.js";
import { MemoryBus } from "../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../lib/adapters/memory/kv-store.js";
import { pgliteMigrationTarget } from "../lib/adapters/pglite/migration-target.js";
import { openPglite } from "../lib/adapters/pglite/open.js";
import { RabbitMqBus } from "../lib/adapters/rabbitmq/bus.js";
import { RedisKvStore } from "../lib/adapters/redis/kv-store.js";
import type { Config } from "../lib/config/index.js";
import { applyMigrations, readMigrations } from "../lib/migrate/runner.js";
import type { RoleDeps } from "../lib/role/role.js";

/** The adapters of one process, and how to release them. */
export interface ProcessDeps extends RoleDeps {
  /** Closes what was opened, in reverse order. */
  close(): Promise<void>;
}

/**
 * The one place that picks a technology for each port (STYLE.md §1):
 * - embedded: in-memory kv and bus, PGlite under `dataDir` (migrated on open);
 * - distributed: Redis, RabbitMQ, PostgreSQL (migrated by `whaleshark migrate`).
 * The database opens on first use, so a gateway never connects to it.
 */
export async function createDeps(config: Config, logger: Logger): Promise<ProcessDeps> {
  const closers: Array<() => Promise<void>> = [];
  let db: Promise<PrismaClient> | undefined;
  const open =
    config.profile === "embedded"
      ? () => openEmbeddedDb(config, logger, closers)
      : () => openPostgres(config, closers);

  let kv: RoleDeps["kv"];
  let bus: RoleDeps["bus"];
  if (config.profile === "embedded") {
    kv = new MemoryKvStore();
    bus = new MemoryBus();
  } else {
    // loadConfig guarantees the URLs in the distributed profile.
    kv = await RedisKvStore.connect({
      url: config.redis.url as string,
      keyPrefix: config.redis.keyPrefix,
      logger,
    });
    bus = await RabbitMqBus.connect({ url: config.amqp.url as string, prefix: config.amqp.prefix, logger });
  }
  return {
    logger,
    kv,
    bus,
    db: () => {
      db ??= open();
      return db;
    },
    async close() {
      await bus.close();
      await kv.close();
      for (const close of closers.reverse()) await close();
    },
  };
}

async function openEmbeddedDb(config: Config, logger: Logger, closers: Array<() => Promise<void>>) {
  const pglite = await openPglite(config.dataDir);
  closers.push(() => pglite.close());
  const result = await applyMigrations(pgliteMigrationTarget(pglite), await readMigrations());
  logger.info({ dataDir: config.dataDir, applied: result.applied }, "embedded database ready");
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  closers.push(() => prisma.$disconnect());
  return prisma;
}

async function openPostgres(config: Config, closers: Array<() => Promise<void>>) {
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: config.database.url as string }),
  });
  closers.push(() => prisma.$disconnect());
  return prisma;
}
