import { randomBytes } from "node:crypto";
import { ClusterMember, waitForInstances } from "../../app/cluster-member.js";
import { LocalCluster, type RunningMember } from "../../app/local-cluster.js";
import type { PrismaClient } from "../../gen/prisma/client.js";
import { openPostgresDatabase } from "../../lib/adapters/postgres/database.js";
import { queueNames } from "../../lib/adapters/rabbitmq/topology.js";
import { RedisKvStore } from "../../lib/adapters/redis/kv-store.js";
import { ZookeeperDiscovery } from "../../lib/adapters/zookeeper/index.js";
import { loadConfig } from "../../lib/config/index.js";
import { registerDiscoveryResolver } from "../../lib/grpc/resolvers/index.js";
import type { DatabaseHandle } from "../../lib/ports/db.js";
import type { ServiceInstance } from "../../lib/ports/discovery.js";
import { STORE_QUEUES } from "../../lib/queues/store-queues.js";
import type { RoleName } from "../../lib/role/role.js";
import { serviceNames } from "../../lib/routing/index.js";
import { deliveryQueue } from "../../lib/sessions/session-record.js";
import type { TestDatabase } from "../../lib/testing/postgres.js";
import type { TestQueuePrefix } from "../../lib/testing/rabbitmq.js";
import type { TestKeyPrefix } from "../../lib/testing/redis.js";
import { testZookeeperConnect } from "../../lib/testing/zookeeper.js";
import {
  ADMIN,
  APP_ID,
  freshResources,
  INTERNAL_SECRET,
  type Resources,
  testApps,
  testLogger,
  userSign,
} from "./harness/index.js";

/** The app every cluster test uses and its configured admin (`adminIds`): the test app. */
export { APP_ID };
export const ADMIN_ID = ADMIN;

/** Service names of the test clusters (the default prefix) and the domain's gRPC target. */
export const NAMES = serviceNames("whaleshark");
export const DOMAIN_TARGET = `zk:///${NAMES.domain}`;

/** ZooKeeper session timeout asked for: the server's minimum (2 ticks of 2 s), so the dead leave fast. */
const ZK_SESSION_MS = 4000;

/**
 * What one test cluster owns on the shared servers, the one harness's fresh resources
 * (test/support/harness): a fresh database, a Redis key prefix, an AMQP prefix and a ZooKeeper
 * root, and the environment that points every `whaleshark` process at them: the distributed
 * profile, ZooKeeper discovery, every listener on 127.0.0.1 port 0, the test app with its admin,
 * the shared internal secret, and `extra` last (e.g. short heartbeats).
 */
export class ClusterResources {
  private constructor(
    readonly env: NodeJS.ProcessEnv,
    private readonly resources: Resources,
  ) {}

  /** The (empty, unmigrated) database the processes use. */
  get database(): TestDatabase {
    return this.resources.postgres as TestDatabase;
  }
  /** The cluster's key prefix. */
  get keys(): TestKeyPrefix {
    return this.resources.keys as TestKeyPrefix;
  }
  /** The cluster's queue prefix. */
  get queues(): TestQueuePrefix {
    return this.resources.queues as TestQueuePrefix;
  }
  /** The cluster's ZooKeeper root. */
  get root(): string {
    return this.resources.zookeeperRoot as string;
  }

  /** Creates the (empty, unmigrated) database and picks the prefixes and root. */
  static async create(extra: Record<string, string> = {}): Promise<ClusterResources> {
    const resources = await freshResources({
      kv: "redis",
      bus: "rabbitmq",
      db: "postgres",
      migrate: false,
      zookeeper: true,
    });
    const keys = resources.keys as TestKeyPrefix;
    const queues = resources.queues as TestQueuePrefix;
    const inherited: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WHALESHARK_")) inherited[k] = v;
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      WHALESHARK_PROFILE: "distributed",
      WHALESHARK_NODE_ID: `ws-${randomBytes(4).toString("hex")}`,
      WHALESHARK_DATABASE_URL: resources.postgres?.url,
      WHALESHARK_REDIS_URL: keys.url,
      WHALESHARK_REDIS__KEY_PREFIX: keys.prefix,
      WHALESHARK_AMQP_URL: queues.url,
      WHALESHARK_AMQP__PREFIX: queues.prefix,
      WHALESHARK_APPS: JSON.stringify(testApps()),
      WHALESHARK_DOMAIN__INTERNAL_SECRET: INTERNAL_SECRET,
      WHALESHARK_DISCOVERY__KIND: "zookeeper",
      WHALESHARK_DISCOVERY__ZOOKEEPER_CONNECT: testZookeeperConnect,
      WHALESHARK_DISCOVERY__ZOOKEEPER_ROOT: resources.zookeeperRoot,
      WHALESHARK_DISCOVERY__ZOOKEEPER_SESSION_TIMEOUT_MS: String(ZK_SESSION_MS),
      WHALESHARK_DISCOVERY__ADVERTISE_HOST: "127.0.0.1",
      WHALESHARK_GATEWAY__HOST: "127.0.0.1",
      WHALESHARK_DOMAIN__HOST: "127.0.0.1",
      WHALESHARK_STORE__HOST: "127.0.0.1",
      WHALESHARK_METRICS__HOST: "127.0.0.1",
      WHALESHARK_GATEWAY__TCP_PORT: "0",
      WHALESHARK_GATEWAY__WS_PORT: "0",
      WHALESHARK_GATEWAY__GRPC_PORT: "0",
      WHALESHARK_DOMAIN__PORT: "0",
      WHALESHARK_STORE__PORT: "0",
      WHALESHARK_METRICS__GATEWAY_PORT: "0",
      WHALESHARK_METRICS__DOMAIN_PORT: "0",
      WHALESHARK_METRICS__STORE_PORT: "0",
      WHALESHARK_STORE__BATCH_WAIT_MS: "5",
      WHALESHARK_SHUTDOWN__GRACE_MS: "2000",
      WHALESHARK_LOG__LEVEL: "info",
      ...extra,
    };
    return new ClusterResources(env, resources);
  }

  /** A userSign of `userId` for the test app. */
  sign(userId: string): string {
    return userSign(userId);
  }

  /** Connects to the cluster's ZooKeeper root and makes `zk:///` targets resolve through it here. */
  async discovery(): Promise<ZookeeperDiscovery> {
    const discovery = await ZookeeperDiscovery.connect({
      connect: testZookeeperConnect,
      root: this.root,
      sessionTimeoutMs: ZK_SESSION_MS,
      logger: testLogger(),
    });
    registerDiscoveryResolver("zk", discovery);
    return discovery;
  }

  /**
   * Removes the database, the keys, the queues (persistence queues and the delivery queues of
   * `gatewayNodeIds`) and the znodes; never throws.
   */
  async remove(gatewayNodeIds: string[]): Promise<void> {
    const logical = [STORE_QUEUES.p2p, STORE_QUEUES.group, ...gatewayNodeIds.map(deliveryQueue)];
    const physical = logical.flatMap((q) => Object.values(queueNames(this.queues.prefix, q)));
    await this.resources.close(physical);
  }
}

/**
 * A distributed WhaleShark on this machine for one test file: a fresh PostgreSQL database migrated
 * by `whaleshark migrate`, then role processes started on demand (`start("domain", 2)`), killed
 * (`kill("domain-1")`: SIGKILL, a crash) and restarted, through the same LocalCluster as the
 * `whaleshark cluster` command. Members find each other through ZooKeeper under a root of their
 * own; this process watches the same root (its `zk:///` resolver reaches the domains) and reads
 * the database and kv for assertions. `close()` ends every member and removes the database, keys,
 * queues and znodes, also after a failed test.
 */
export class TestCluster {
  #db: DatabaseHandle | undefined;
  #kv: RedisKvStore | undefined;

  private constructor(
    readonly cluster: LocalCluster,
    readonly discovery: ZookeeperDiscovery,
    readonly resources: ClusterResources,
  ) {}

  /** Creates and migrates the database and connects to the cluster's ZooKeeper root. */
  static async create(options: { env?: Record<string, string> } = {}): Promise<TestCluster> {
    const resources = await ClusterResources.create(options.env);
    const logger = testLogger();
    try {
      const migrate = ClusterMember.spawn({ name: "migrate", args: ["migrate"], env: resources.env });
      const done = await migrate.exited;
      if (done.code !== 0) throw new Error(`whaleshark migrate failed (${done.code}): ${migrate.stderr}`);
      const discovery = await resources.discovery();
      const config = loadConfig({ env: resources.env });
      return new TestCluster(
        new LocalCluster(config, resources.env, discovery, logger, false),
        discovery,
        resources,
      );
    } catch (err) {
      await resources.remove([]);
      throw err;
    }
  }

  /** Starts (or restarts) member `<role>-<index>`; resolves once it is registered. */
  start(role: RoleName, index: number): Promise<RunningMember> {
    return this.cluster.start(role, index, 45_000);
  }

  /** Starts several members at once, e.g. `startAll(["gateway", 1], ["gateway", 2])`. */
  async startAll(...members: Array<[RoleName, number]>): Promise<void> {
    await Promise.all(members.map(([role, index]) => this.start(role, index)));
  }

  /** A started member by name (`domain-1`). */
  member(name: string): RunningMember {
    return this.cluster.member(name);
  }

  /** SIGKILL: the member dies at once, without draining or deregistering. */
  async kill(name: string): Promise<void> {
    await this.member(name).member.kill();
  }

  /** The live instances of a service right now. */
  instances(service: string): Promise<readonly ServiceInstance[]> {
    return waitForInstances(this.discovery, service, () => true, 10_000);
  }

  /** A userSign of `userId` for the test app. */
  sign(userId: string): string {
    return this.resources.sign(userId);
  }

  /** The cluster's database (for assertions). */
  async db(): Promise<PrismaClient> {
    this.#db ??= await openPostgresDatabase({ url: this.resources.database.url, poolSize: 2 });
    return this.#db.db;
  }

  /** The cluster's kv, under its key prefix (for assertions on sessions). */
  async kv(): Promise<RedisKvStore> {
    this.#kv ??= await RedisKvStore.connect({
      url: this.resources.keys.url,
      keyPrefix: this.resources.keys.prefix,
    });
    return this.#kv;
  }

  /** Ends every member (SIGTERM, SIGKILL after 3 s) and removes everything the cluster created. */
  async close(): Promise<void> {
    const nodes = this.cluster.members.filter((m) => m.role === "gateway").map((m) => m.nodeId);
    await this.cluster.stop(3000).catch(() => undefined);
    await Promise.all(this.cluster.members.map((m) => m.member.kill()));
    for (const close of [() => this.discovery.close(), () => this.#db?.close(), () => this.#kv?.close()]) {
      await Promise.resolve()
        .then(close)
        .catch(() => undefined);
    }
    await this.resources.remove(nodes);
  }
}
