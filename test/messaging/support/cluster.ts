import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { type GatewayHandle, startGateway } from "../../../gateway/start.js";
import { HistoryServiceService } from "../../../gen/ts/whaleshark/v1/history_service.js";
import { openPostgresDatabase } from "../../../lib/adapters/postgres/database.js";
import { RabbitMqBus } from "../../../lib/adapters/rabbitmq/bus.js";
import { RedisKvStore } from "../../../lib/adapters/redis/kv-store.js";
import { type Config, type DeepPartial, loadConfig } from "../../../lib/config/index.js";
import type { DatabaseHandle } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import type { RoleDeps, RoleHandle } from "../../../lib/role/role.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { createTestQueuePrefix } from "../../../lib/testing/rabbitmq.js";
import { createTestKeyPrefix } from "../../../lib/testing/redis.js";
import { testDiscoveryDeps } from "../../../lib/testing/role-deps.js";
import { startDomain } from "../../../services/domain/start.js";
import { startStore } from "../../../services/store/start.js";
import { type Caller, grpcCaller } from "../../support/grpc-caller.js";
import { type Endpoint, TestDevice, type TestDeviceOptions } from "./device.js";

/** The app every cluster serves. */
export const APP = 10001;
/** Its userSign key. */
export const APP_KEY = "messaging-cluster-private-key";
/** Its configured admin (config `apps.10001.adminIds`). */
export const ADMIN = "root";
const INTERNAL_SECRET = "messaging-cluster-internal-secret";

/** What {@link startCluster} starts. */
export interface ClusterOptions {
  /** Gateway instances (default 1), each with its own nodeId, listeners, kv and bus connections. */
  gateways?: number;
  /** Redis to use (default: the shared test server under a fresh key prefix). */
  redisUrl?: string;
  /** Config overrides every role gets (e.g. `messaging.recallWindowMs`, `gateway.heartbeatTimeoutMs`). */
  overrides?: DeepPartial<Config>;
}

/** A running deployment of the three roles in this process, and what tests drive it with. */
export interface Cluster {
  /** The deployment's database (a fresh PostgreSQL database), for assertions. */
  database: MigratedTestDatabase;
  /** A kv connection to the deployment's keys (its prefix), for assertions. */
  kv: KvStore;
  gateways: GatewayHandle[];
  domain: RoleHandle;
  store: RoleHandle;
  /** A gateway's listener of `kind`. */
  endpoint(gateway: number, kind: "tcp" | "ws"): Endpoint;
  /** Creates live users (user_type 1) in the database. */
  users(ids: string[]): Promise<void>;
  /** Makes every pair of `ids` friends both ways in the database. */
  friends(ids: string[]): Promise<void>;
  /** An SDK device of `userId` (not connected yet; closed by `close()`). */
  device(
    userId: string,
    imei: string,
    opts: Omit<TestDeviceOptions, "appId" | "privateKey" | "userId" | "imei">,
  ): TestDevice;
  /** A client of one of the domain's services, signed as `userId` (default the admin). */
  domainService<D extends object>(definition: D, userId?: string): Caller<D>;
  /** HistoryService of the store, signed as `userId`. */
  history(userId: string): Caller<typeof HistoryServiceService>;
  close(): Promise<void>;
}

/**
 * Starts a store, a domain and `gateways` gateway roles in this process on the distributed
 * adapters: Redis (shared server under a unique key prefix, or `redisUrl`), RabbitMQ (unique queue
 * prefix), a fresh migrated PostgreSQL database. Every role gets its own kv, bus and database
 * connections, as separate processes would; gateways reach the domain (chat calls, with the
 * internal secret) and the store (the SDK's catch-up) over gRPC. `close()` stops everything and
 * removes the keys, queues and database.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const logger = pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });
  const keys = createTestKeyPrefix();
  const queues = createTestQueuePrefix();
  const redisUrl = opts.redisUrl ?? keys.url;
  const database = await migratedTestDatabase(4);
  const closers: Array<() => Promise<void>> = [];
  const buses: RabbitMqBus[] = [];
  const handles: RoleHandle[] = [];
  const channels: Array<{ close(): void }> = [];
  const devices: TestDevice[] = [];

  const configFor = (nodeId: string): Config => {
    const o = opts.overrides ?? {};
    return loadConfig({
      cwd: mkdtempSync(join(tmpdir(), "ws-cluster-")),
      env: {},
      overrides: {
        ...o,
        profile: "distributed",
        nodeId,
        apps: { [String(APP)]: { privateKey: APP_KEY, adminIds: [ADMIN] } },
        database: { url: database.url },
        redis: { ...o.redis, url: redisUrl, keyPrefix: keys.prefix },
        amqp: { ...o.amqp, url: queues.url, prefix: queues.prefix },
        domain: { host: "127.0.0.1", port: 0, internalSecret: INTERNAL_SECRET, ...o.domain },
        store: { host: "127.0.0.1", port: 0, batchWaitMs: 5, ...o.store },
        gateway: { host: "127.0.0.1", tcpPort: 0, wsPort: 0, grpcPort: 0, ...o.gateway },
        metrics: { enabled: false },
        shutdown: { graceMs: 1000, ...o.shutdown },
      },
    });
  };
  /** The adapters of one role, as its own process would open them. */
  const depsFor = async (
    config: Config,
    poolSize: number,
    targets: Partial<RoleDeps["grpcTargets"]> = {},
  ): Promise<RoleDeps> => {
    const kv = await RedisKvStore.connect({
      url: redisUrl,
      keyPrefix: keys.prefix,
      cluster: config.redis.cluster,
      logger,
    });
    const bus = await RabbitMqBus.connect({
      url: queues.url,
      prefix: queues.prefix,
      queueType: config.amqp.queueType,
      logger,
    });
    buses.push(bus);
    let db: Promise<DatabaseHandle["db"]> | undefined;
    closers.push(async () => {
      await bus.close();
      await kv.close();
      if (db !== undefined) await (await db).$disconnect();
    });
    return {
      logger: logger.child({ node: config.nodeId }),
      kv,
      bus,
      db: () => {
        db ??= openPostgresDatabase({ url: database.url, poolSize }).then((h) => h.db);
        return db;
      },
      ...testDiscoveryDeps(targets),
    };
  };

  try {
    const kv = await RedisKvStore.connect({
      url: redisUrl,
      keyPrefix: keys.prefix,
      cluster: opts.overrides?.redis?.cluster ?? false,
      logger,
    });
    closers.push(() => kv.close());
    const storeConfig = configFor("store-1");
    const store = await startStore(await depsFor(storeConfig, 4), storeConfig);
    handles.unshift(store);
    const domainConfig = configFor("domain-1");
    const domain = await startDomain(await depsFor(domainConfig, 8), domainConfig);
    handles.unshift(domain);
    const gateways: GatewayHandle[] = [];
    for (let i = 0; i < (opts.gateways ?? 1); i++) {
      const config = configFor(`gw-${i + 1}`);
      const gateway = await startGateway(
        await depsFor(config, 1, { domain: domain.grpcAddress, store: store.grpcAddress }),
        config,
      );
      gateways.push(gateway);
      handles.unshift(gateway);
    }

    return {
      database,
      kv,
      gateways,
      domain,
      store,
      endpoint(gateway, kind) {
        const g = gateways[gateway];
        if (g === undefined) throw new Error(`no gateway ${gateway}`);
        return kind === "tcp" ? { kind, port: g.tcpPort } : { kind, port: g.wsPort };
      },
      async users(ids) {
        await database.db.userData.createMany({
          data: ids.map((userId) => ({ appId: APP, userId, nickName: userId, userType: 1 })),
        });
      },
      async friends(ids) {
        const rows = ids.flatMap((a) =>
          ids.filter((b) => b !== a).map((b) => ({ appId: APP, fromId: a, toId: b, status: 1, black: 1 })),
        );
        await database.db.friendship.createMany({ data: rows });
      },
      device(userId, imei, o) {
        const d = new TestDevice({ ...o, appId: APP, privateKey: APP_KEY, userId, imei });
        devices.push(d);
        return d;
      },
      domainService(definition, userId = ADMIN) {
        const c = grpcCaller(domain.grpcAddress, definition, { appId: APP, privateKey: APP_KEY, userId });
        channels.push(c);
        return c.call;
      },
      history(userId) {
        const c = grpcCaller(store.grpcAddress, HistoryServiceService, {
          appId: APP,
          privateKey: APP_KEY,
          userId,
        });
        channels.push(c);
        return c.call;
      },
      close: () => shutdown(),
    };
  } catch (error) {
    await shutdown();
    throw error;
  }

  async function shutdown(): Promise<void> {
    for (const d of devices) d.close();
    for (const c of channels) c.close();
    for (const h of handles.splice(0)) await h.stop().catch(() => undefined);
    const created = buses.flatMap((b) => b.createdQueues());
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await queues.cleanup(created).catch(() => undefined);
    if (opts.redisUrl === undefined) await keys.cleanup().catch(() => undefined);
    await database.close();
  }
}

/** Polls `check` until it holds; throws `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
