import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import type { Logger } from "pino";
import type { JournaledBus } from "../lib/adapters/journal/index.js";
import type { Config } from "../lib/config/index.js";
import type { InProcessServices } from "../lib/grpc/in-process.js";
import type { Database } from "../lib/ports/db.js";
import type { RoleDeps, RoleHandle, RoleName } from "../lib/role/role.js";
import { createDiscovery, type ProcessDiscovery } from "./discovery.js";
import { roles } from "./roles.js";

/** The adapters of one process, and how to release them. */
export interface ProcessDeps extends RoleDeps {
  /**
   * Starts a role and registers it in discovery; its `stop()` deregisters
   * first, so callers move to other instances before it drains.
   */
  startRole(name: RoleName, logger: Logger): Promise<RoleHandle>;
  /**
   * Embedded profile: resolves once the persistence jobs the bus journal
   * replayed at open are stored (at most {@link REPLAY_WAIT_MS}), logging how
   * many. Call it after the store role started and before the domain does:
   * the domain's send dedupe asks the database whether a resent messageId was
   * accepted, so a replayed job must be there first. Absent when no journal.
   */
  recovered?(): Promise<void>;
  /** Closes what was opened, in reverse order. */
  close(): Promise<void>;
}

/** Longest wait of {@link ProcessDeps.recovered} for the replayed persistence jobs. */
export const REPLAY_WAIT_MS = 30_000;

/**
 * The one place that picks a technology for each port (docs/style.md §1):
 * - embedded: in-memory kv, the in-memory bus behind an fdatasync'ed journal
 *   (`dataDir/bus-journal`: durable queues survive a crash and are replayed at
 *   start), PGlite under `dataDir` (migrated on open);
 * - distributed: Redis, RabbitMQ, PostgreSQL (migrated by `whaleshark migrate`).
 * The database opens on first use, so a gateway never connects to it. Each adapter's module is
 * imported only in the profile that uses it (a distributed role loads no PGlite, the embedded
 * process no Redis or RabbitMQ client): start-up time, bench/RESULTS.md "start-up".
 */
export async function createDeps(
  config: Config,
  logger: Logger,
  opts: {
    inProcess?: InProcessServices;
    /**
     * Open the database now, side by side with the other connections, instead of on first use:
     * for a role that queries it before it listens (app/roles.ts `OPENS_DATABASE_AT_START`).
     */
    openDatabase?: boolean;
  } = {},
): Promise<ProcessDeps> {
  const closers: Array<() => Promise<void>> = [];
  let db: Promise<Database> | undefined;
  const openDatabase = () => {
    db ??= openDb(config, logger, closers);
    return db;
  };
  const closeDatabase = async () => {
    for (const close of closers.reverse()) await close();
  };

  let kv: RoleDeps["kv"];
  let bus: RoleDeps["bus"];
  let journaled: JournaledBus | undefined;
  let found: ProcessDiscovery;
  if (config.profile === "embedded") {
    const [{ MemoryKvStore }, { MemoryBus }, { JournaledBus }] = await Promise.all([
      import("../lib/adapters/memory/kv-store.js"),
      import("../lib/adapters/memory/bus.js"),
      import("../lib/adapters/journal/index.js"),
    ]);
    kv = new MemoryKvStore();
    journaled = await JournaledBus.open({
      dir: join(config.dataDir, "bus-journal"),
      inner: new MemoryBus(),
      logger,
    });
    bus = journaled;
    found = await createDiscovery(config, logger);
    if (opts.openDatabase) await openDatabase();
  } else {
    // Redis, RabbitMQ, discovery and (when asked) PostgreSQL are connected side by side: each
    // adapter's module loads while the others wait for their servers (start-up time,
    // bench/RESULTS.md "start-up in one bundle"). loadConfig guarantees the URLs here.
    [kv, bus, found] = await openTogether([
      opening(
        import("../lib/adapters/redis/kv-store.js").then(({ RedisKvStore }) =>
          RedisKvStore.connect({
            url: config.redis.url as string,
            keyPrefix: config.redis.keyPrefix,
            cluster: config.redis.cluster,
            logger,
          }),
        ),
        (opened) => opened.close(),
      ),
      opening(
        import("../lib/adapters/rabbitmq/bus.js").then(({ RabbitMqBus }) =>
          RabbitMqBus.connect({
            url: config.amqp.url as string,
            prefix: config.amqp.prefix,
            queueType: config.amqp.queueType,
            logger,
          }),
        ),
        (opened) => opened.close(),
      ),
      opening(createDiscovery(config, logger), (opened) => opened.discovery.close()),
      opening(opts.openDatabase ? openDatabase() : Promise.resolve(undefined), closeDatabase),
    ] as const);
  }
  const deps: ProcessDeps = {
    logger,
    kv,
    bus,
    discovery: found.discovery,
    grpcTargets: found.targets,
    inProcess: opts.inProcess,
    async startRole(name, roleLog) {
      const handle = await roles[name]({ ...deps, logger: roleLog }, config);
      await found.register(handle);
      return {
        ...handle,
        stop: async () => {
          await found.deregister(handle).catch((err: unknown) => roleLog.warn({ err }, "deregister failed"));
          await handle.stop();
        },
      };
    },
    db: openDatabase,
    recovered: journaled === undefined ? undefined : waitForReplay(journaled, logger),
    async close() {
      await found.discovery.close();
      await bus.close();
      await kv.close();
      await closeDatabase();
    },
  };
  return deps;
}

/** Something being opened, and how to close it should a sibling fail ({@link openTogether}). */
interface Opening<T> {
  opened: Promise<T>;
  close(value: T): Promise<void>;
}

export function opening<T>(opened: Promise<T>, close: (value: T) => Promise<void>): Opening<T> {
  return { opened, close };
}

/**
 * Waits for every opening; when one fails, closes those that opened and throws the first failure,
 * so a process whose Redis is down does not hang on the RabbitMQ connection it made meanwhile.
 */
export async function openTogether<T extends readonly unknown[]>(
  list: { readonly [K in keyof T]: Opening<T[K]> },
): Promise<T> {
  const all = list as readonly Opening<unknown>[];
  const results = await Promise.allSettled(all.map((o) => o.opened));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed === undefined) {
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
  }
  await Promise.allSettled(
    results.map((r, i) => (r.status === "fulfilled" ? all[i]?.close(r.value) : undefined)),
  );
  throw failed.reason;
}

function waitForReplay(bus: JournaledBus, logger: Logger): () => Promise<void> {
  return async () => {
    const progress = await bus.whenReplayed(REPLAY_WAIT_MS); // warns itself when jobs are still open
    if (progress.replayed > 0) logger.info(progress, "persistence jobs recovered from the bus journal");
  };
}

async function openDb(
  config: Config,
  logger: Logger,
  closers: Array<() => Promise<void>>,
): Promise<Database> {
  // Prisma's query compiler is a WebAssembly module (3.4 MB) that V8 compiles with Liftoff and
  // then recompiles with TurboFan function by function in worker threads, whose freed compile
  // memory glibc keeps: ~45 MiB of idle RSS per domain or store, for no gain measured (query
  // plans are cached; misses cost no more CPU with Liftoff alone). Set before $connect compiles it;
  // process-wide, so never in the embedded profile, where PGlite's PostgreSQL is WebAssembly too
  // and wants TurboFan. Figures: bench/RESULTS.md, "idle memory of each role".
  if (config.profile !== "embedded") setFlagsFromString("--liftoff-only");
  const handle =
    config.profile === "embedded"
      ? await (await import("../lib/adapters/pglite/database.js")).openPgliteDatabase({
          dataDir: config.dataDir,
          sharedBuffersMb: config.database.embeddedSharedBuffersMb,
        })
      : await (await import("../lib/adapters/postgres/database.js")).openPostgresDatabase({
          url: config.database.url as string,
          poolSize: config.database.poolSize,
          connectTimeoutMs: config.database.connectTimeoutMs,
          logger,
        });
  closers.push(() => handle.close());
  if (config.profile === "embedded") logger.info({ dataDir: config.dataDir }, "embedded database ready");
  return handle.db;
}
