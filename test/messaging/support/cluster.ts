import type { GatewayHandle } from "../../../gateway/start.js";
import { HistoryServiceService } from "../../../gen/ts/whaleshark/v1/history_service.js";
import type { Config, DeepPartial } from "../../../lib/config/index.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import type { RoleHandle } from "../../../lib/role/role.js";
import { type Caller, grpcCaller } from "../../support/grpc-caller.js";
import { ADMIN, APP_ID, APP_KEY, harness, type TestDb } from "../../support/harness/index.js";
import { type Endpoint, TestDevice, type TestDeviceOptions } from "./device.js";

/** The app every cluster serves, its userSign key and its configured admin: the test app. */
export { ADMIN, APP_KEY };
export const APP = APP_ID;

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
  database: TestDb;
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
 * A preset of the one harness (test/support/harness). Starts a store, a domain and `gateways`
 * gateway roles in this process on the distributed
 * adapters: Redis (shared server under a unique key prefix, or `redisUrl`), RabbitMQ (unique queue
 * prefix), a fresh migrated PostgreSQL database. Every role gets its own kv, bus and database
 * connections, as separate processes would; gateways reach the domain (chat calls, with the
 * internal secret) and the store (the SDK's catch-up) over gRPC. `close()` stops everything and
 * removes the keys, queues and database.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const h = await harness({
    on: { kv: "redis", bus: "rabbitmq", db: "postgres" },
    poolSize: 4,
    redisUrl: opts.redisUrl,
    overrides: { metrics: { enabled: false }, ...opts.overrides },
  })
    .store()
    .domain()
    .gateways(opts.gateways ?? 1)
    .start();
  const channels: Array<{ close(): void }> = [];
  const devices: TestDevice[] = [];
  const domain = h.domain as RoleHandle;
  const store = h.store as RoleHandle;
  const { database, gateways } = h;
  return {
    database,
    kv: h.kv,
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
    async close() {
      for (const d of devices) d.close();
      for (const c of channels) c.close();
      await h.close();
    },
  };
}
