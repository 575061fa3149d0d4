import type { Logger } from "pino";
import { type GatewayHandle, type GatewayOptions, startGateway } from "../../../gateway/start.js";
import { openPostgresDatabase } from "../../../lib/adapters/postgres/database.js";
import type { Config, DeepPartial } from "../../../lib/config/index.js";
import { AppAuthenticator, InternalAuthenticator, resolveInternalSecret } from "../../../lib/grpc/auth.js";
import { type RunningGrpcServer, startGrpcServer } from "../../../lib/grpc/server.js";
import type { Bus } from "../../../lib/ports/bus.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import type { RoleDeps, RoleHandle } from "../../../lib/role/role.js";
import { testDiscoveryDeps } from "../../../lib/testing/role-deps.js";
import type { DomainEnv } from "../../../services/domain/core/env.js";
import { Messaging } from "../../../services/domain/messaging/messaging.js";
import { domainServices } from "../../../services/domain/services.js";
import { startDomain } from "../../../services/domain/start.js";
import { startStore } from "../../../services/store/start.js";
import { testConfig } from "./config.js";
import { testDomainEnv } from "./domain-env.js";
import { FakeGateways } from "./fake-gateway.js";
import {
  type Adapters,
  freshResources,
  postgresUrl,
  type Resources,
  type TestDb,
  testLogger,
} from "./resources.js";

/** What {@link harness} starts and on what. */
export interface HarnessOptions {
  /** The adapters (default: memory kv and bus, a fresh migrated PostgreSQL database). */
  on?: Adapters;
  /** A kv or bus the caller owns and shares with other roles (e.g. a gateway of its own); never closed. */
  kv?: KvStore;
  bus?: Bus;
  /** Opens the database instead of `on.db` (e.g. the one of another harness); closed with the harness. */
  database?: () => Promise<TestDb>;
  /** Pool size of the harness's own PostgreSQL connection (default 6). */
  poolSize?: number;
  /** Redis to use instead of the shared test server (a test Redis Cluster). */
  redisUrl?: string;
  /** Config overrides every role and core gets (testConfig's defaults first). */
  overrides?: DeepPartial<Config>;
  /** Pins the clock of the in-process domain env. */
  now?: () => number;
  /** The domain's gRPC services on the harness's own env (service tests; no Messaging core). */
  domainServices?: boolean;
  /** The domain's Messaging core on the harness's own env (no gRPC). */
  messaging?: boolean;
  /** The roles, each on connections of its own as its own process would open them. */
  store?: boolean;
  domain?: boolean;
  gateways?: number;
  /** Test seams of the gateways (a fake domain's ChatService). */
  gatewayOptions?: GatewayOptions;
}

/** A running test deployment in this process; what is absent was not asked for. */
export interface Harness {
  resources: Resources;
  logger: Logger;
  /** The harness's own kv and bus connections (the cores' and the fake gateways'; assertions). */
  kv: KvStore;
  bus: Bus;
  /** The database (the harness's own connection). */
  database: TestDb;
  /** The config of a role or core named `nodeId` in this deployment. */
  config(nodeId: string): Config;
  /** The in-process domain env (with `domainServices` or `messaging`). */
  env: DomainEnv;
  messaging: Messaging | undefined;
  /** The domain's gRPC services (`domainServices`). */
  services: RunningGrpcServer | undefined;
  store: RoleHandle | undefined;
  domain: RoleHandle | undefined;
  gateways: GatewayHandle[];
  /** Gateway nodes that are only delivery queues drained into a list. */
  fake: FakeGateways;
  /** Starts one more gateway role named `nodeId` (with `overrides` over the deployment's config). */
  addGateway(
    nodeId: string,
    overrides?: DeepPartial<Config>,
    options?: GatewayOptions,
  ): Promise<GatewayHandle>;
  /** Stops everything in reverse order and removes the resources. */
  close(): Promise<void>;
}

/**
 * The one test harness: starts the chosen roles in this process on the chosen adapters, e.g.
 * `harness({ on: { kv: "redis", bus: "rabbitmq" } }).store().domain().gateways(2).start()`. The
 * presets (test/domain/harness.ts, test/domain/messaging-harness.ts,
 * test/messaging/support/cluster.ts, test/gateway/support/harness.ts) are uses of it; role processes
 * are test/support/cluster.ts, on the same resources and app.
 */
export function harness(options: HarnessOptions = {}): HarnessBuilder {
  return new HarnessBuilder({ ...options });
}

/** Chooses what {@link harness} starts; `start()` starts it. Each call adds to the options. */
export class HarnessBuilder {
  constructor(private readonly options: HarnessOptions) {}
  /** The adapters, merged over those chosen so far. */
  on = (adapters: Adapters) => this.with({ on: { ...this.options.on, ...adapters } });
  /** Config overrides every role and core gets. */
  overrides = (overrides: DeepPartial<Config>) => this.with({ overrides });
  /** The domain's gRPC services on the harness's env. */
  domainServices = () => this.with({ domainServices: true });
  /** The Messaging core on the harness's env. */
  messaging = () => this.with({ messaging: true });
  /** A store role. */
  store = () => this.with({ store: true });
  /** A domain role. */
  domain = () => this.with({ domain: true });
  /** `count` gateway roles, `gw-1` … `gw-<count>`. */
  gateways = (count: number) => this.with({ gateways: count });
  /** Any other {@link HarnessOptions}. */
  with(options: HarnessOptions): this {
    Object.assign(this.options, options);
    return this;
  }
  /** Starts it all; on a failure, stops what started and removes the resources. */
  start(): Promise<Harness> {
    return startHarness(this.options);
  }
}

async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const logger = testLogger();
  const resources = await freshResources({
    ...opts.on,
    givenKv: opts.kv,
    givenBus: opts.bus,
    database: opts.database,
    poolSize: opts.poolSize,
    redisUrl: opts.redisUrl,
  });
  const stops: Array<() => Promise<unknown>> = [];
  const pools: Array<() => Promise<void>> = [];
  const config = (nodeId: string) => testConfig(nodeId, opts.overrides, resources);
  let fake: FakeGateways | undefined;

  /** The adapters of one role, as its own process would open them. */
  const roleDeps = async (
    cfg: Config,
    poolSize: number,
    targets: Partial<RoleDeps["grpcTargets"]> = {},
  ): Promise<RoleDeps> => {
    let pool: Promise<Database> | undefined;
    const database = resources.db;
    return {
      logger: logger.child({ node: cfg.nodeId }),
      kv: await resources.kv({ cluster: cfg.redis.cluster, logger }),
      bus: await resources.bus({ queueType: cfg.amqp.queueType, logger }),
      db: () => {
        if (database === undefined) return Promise.reject(new Error("this harness has no database"));
        const url = postgresUrl(database);
        // A PostgreSQL pool of the role's own; PGlite is one in-process database.
        pool ??=
          url === undefined
            ? Promise.resolve(database.db)
            : openPostgresDatabase({ url, poolSize }).then((h) => {
                pools.push(() => h.close());
                return h.db;
              });
        return pool;
      },
      ...testDiscoveryDeps(targets),
    };
  };

  const shutdown = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    for (const close of pools.splice(0)) await close().catch(() => undefined);
    await resources.close();
  };

  try {
    const kv = await resources.kv({ cluster: opts.overrides?.redis?.cluster ?? false });
    const bus = await resources.bus({ queueType: opts.overrides?.amqp?.queueType });
    fake = new FakeGateways(kv, bus);
    const fakes = fake;
    stops.push(() => fakes.close());
    const database = resources.db ?? noDatabase();
    const coreConfig = config("domain-test");
    const env = testDomainEnv({ config: coreConfig, kv, bus, db: database.db, logger, now: opts.now });
    stops.push(() => env.callbacks.drain());

    let messaging: Messaging | undefined;
    if (opts.messaging) {
      const core = new Messaging({ env, bus, logger, config: coreConfig });
      messaging = core;
      stops.push(() => core.close());
    }
    let services: RunningGrpcServer | undefined;
    if (opts.domainServices) {
      const server = await startGrpcServer({
        role: "domain",
        host: "127.0.0.1",
        port: 0,
        services: domainServices({
          env,
          appAuth: new AppAuthenticator({
            apps: coreConfig.apps,
            kv,
            userType: async (appId, userId) =>
              (await database.db.userData.findFirst({ where: { appId, userId, delFlag: 0 } }))?.userType ??
              null,
          }),
          internalAuth: new InternalAuthenticator(resolveInternalSecret(coreConfig)),
          logger,
        }),
        logger,
      });
      services = server;
      stops.push(() => server.stop(0));
    }

    /** Starts a store or domain role named `nodeId` on a pool of `poolSize`, stopped by close(). */
    const startRole = async (
      start: (deps: RoleDeps, config: Config) => Promise<RoleHandle>,
      nodeId: string,
      poolSize: number,
    ) => {
      const cfg = config(nodeId);
      const role = await start(await roleDeps(cfg, poolSize), cfg);
      stops.push(() => role.stop());
      return role;
    };
    const store = opts.store ? await startRole(startStore, "store-1", 4) : undefined;
    const domain = opts.domain ? await startRole(startDomain, "domain-1", 8) : undefined;
    const gateways: GatewayHandle[] = [];
    const addGateway = async (
      nodeId: string,
      overrides: DeepPartial<Config> = {},
      options: GatewayOptions = opts.gatewayOptions ?? {},
    ) => {
      const cfg = testConfig(nodeId, mergeOverrides(opts.overrides ?? {}, overrides), resources);
      const targets = { domain: domain?.grpcAddress, store: store?.grpcAddress };
      const gateway = await startGateway(await roleDeps(cfg, 1, targets), cfg, options);
      gateways.push(gateway);
      stops.push(() => gateway.stop());
      return gateway;
    };
    for (let i = 0; i < (opts.gateways ?? 0); i++) await addGateway(`gw-${i + 1}`);

    return {
      resources,
      logger,
      kv,
      bus,
      database,
      config,
      env,
      messaging,
      services,
      store,
      domain,
      gateways,
      fake,
      addGateway,
      close: shutdown,
    };
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/** `overrides` then `more`, section by section (one level deep, as testConfig merges). */
function mergeOverrides(overrides: DeepPartial<Config>, more: DeepPartial<Config>): DeepPartial<Config> {
  const out: Record<string, unknown> = { ...overrides };
  for (const [key, value] of Object.entries(more)) {
    const base = out[key];
    out[key] =
      typeof value === "object" && value !== null && typeof base === "object" && base !== null
        ? { ...base, ...value }
        : value;
  }
  return out as DeepPartial<Config>;
}

/** The database of a harness without one: every use fails at once. */
function noDatabase(): TestDb {
  const db = new Proxy({} as TestDb["db"], {
    get: () => {
      throw new Error("this harness has no database (on.db: none)");
    },
  });
  return { db, close: async () => {} };
}
