import { pino } from "pino";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import {
  StoreGroupMessageJob,
  StoreGroupMessageJobs,
  StoreP2PMessageJob,
  StoreP2PMessageJobs,
} from "../../gen/ts/whaleshark/v1/store_job.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import type { Config } from "../../lib/config/index.js";
import { configSchema } from "../../lib/config/schema.js";
import type { Bus, BusConsumer } from "../../lib/ports/bus.js";
import type { Database } from "../../lib/ports/db.js";
import type { KvStore } from "../../lib/ports/kv.js";
import { DELIVERY_QUEUE_OPTIONS, Pusher } from "../../lib/push/pusher.js";
import { isJobBatch, STORE_QUEUES } from "../../lib/queues/store-queues.js";
import { deliveryQueue, encodeSession, sessionField, sessionKey } from "../../lib/sessions/session-record.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import { ChangeTokens } from "../../services/domain/cache/change-tokens.js";
import { Callbacks } from "../../services/domain/callbacks/callbacks.js";
import type { DomainEnv } from "../../services/domain/core/env.js";
import { Messaging } from "../../services/domain/messaging/messaging.js";

/**
 * A messaging core for tests (tests only): a fresh migrated PostgreSQL
 * database, kv and bus (memory unless given), fake gateway nodes whose
 * delivery queues are drained into per-node lists, and the persistence
 * queues drained into job lists (nothing is stored unless a test stores it).
 */

export const APP = 10001;
export const ADMIN = "root";

/** One frame a fake gateway node received. */
export interface Received {
  node: string;
  userId: string;
  clientType: number;
  imei: string;
  command: number;
  data: Record<string, unknown>;
}

export interface MessagingHarness {
  database: MigratedTestDatabase;
  kv: KvStore;
  bus: Bus;
  env: DomainEnv;
  config: Config;
  messaging: Messaging;
  /** Creates live users. */
  users(ids: string[], opts?: { userType?: number; forbidden?: boolean; silent?: boolean }): Promise<void>;
  /** Friends both ways (status 1, not blacked). */
  friends(a: string, b: string): Promise<void>;
  /** A group with these members (first = owner) and its members' conversations. */
  group(groupId: string, members: string[], opts?: { mute?: boolean; status?: number }): Promise<void>;
  /** Marks a device online on gateway node `node` (default "n1"). */
  online(userId: string, clientType: number, imei: string, node?: string): Promise<void>;
  /** Waits for pushes in flight, then returns and clears what every node received. */
  pushes(): Promise<Received[]>;
  /** Bus publishes (DeliveryBatch messages) per node since the last call. */
  batches(): Map<string, number>;
  /** Persistence jobs published since the last call. */
  jobs(): Promise<Array<StoreP2PMessageJob | StoreGroupMessageJob>>;
  close(): Promise<void>;
}

/**
 * Writes the body row of a persistence job and its sender's id row (im_message_id), as the store
 * does (tests that need a stored message).
 */
export async function storeBody(db: Database, job: StoreP2PMessageJob | StoreGroupMessageJob): Promise<void> {
  const m = job.message;
  if (m === undefined) throw new Error("job without message");
  const group = "groupId" in m;
  await db.messageIdempotency.create({
    data: { appId: m.appId, fromId: m.fromId, messageId: m.messageId, messageKey: BigInt(m.messageKey) },
  });
  await db.messageBody.create({
    data: {
      messageKey: BigInt(m.messageKey),
      appId: m.appId,
      conversationType: group ? GROUP : P2P,
      fromId: m.fromId,
      toId: group ? m.groupId : m.toId,
      messageId: m.messageId,
      messageSequence: BigInt(m.messageSequence),
      messageBody: m.messageBody,
      messageTime: BigInt(m.messageTime),
      createTime: BigInt(job.acceptedTime),
    },
  });
}

/** Starts a harness; `messaging` overrides the config section. */
export async function startMessagingHarness(
  opts: {
    kv?: KvStore;
    bus?: Bus;
    messaging?: Partial<Config["messaging"]>;
    /** The callbacks config section (callbacks to a local app server). */
    callbacks?: Partial<Config["callbacks"]>;
    now?: () => number;
    /** false: leave the persistence queues to a real store consumer (`jobs()` then stays empty). */
    consumeJobs?: boolean;
    /** How long deliveries must stay quiet before `pushes()` returns (default 20 ms; more on a real broker). */
    settleMs?: number;
    /** Opens the database (default: a fresh migrated PostgreSQL database; e.g. PGlite instead). */
    database?: () => Promise<MigratedTestDatabase>;
  } = {},
): Promise<MessagingHarness> {
  const database = await (opts.database ?? migratedTestDatabase)();
  const kv = opts.kv ?? new MemoryKvStore();
  const bus = opts.bus ?? new MemoryBus();
  const logger = pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });
  const config = configSchema.parse({
    nodeId: "domain-test",
    apps: { [String(APP)]: { privateKey: "messaging-test-key", adminIds: [ADMIN] } },
    messaging: opts.messaging ?? {},
    callbacks: opts.callbacks ?? {},
  }) as Config;
  const env: DomainEnv = {
    db: async () => database.db,
    kv,
    pusher: new Pusher({ kv, bus, logger, sessionTtlMs: 60_000 }),
    changes: new ChangeTokens(kv),
    callbacks: new Callbacks(config.callbacks, logger),
    settings: { deleteConversationSyncMode: 1 },
    now: opts.now ?? Date.now,
  };
  const messaging = new Messaging({ env, bus, logger, config });
  const received: Received[] = [];
  const batchCount = new Map<string, number>();
  const consumers: BusConsumer[] = [];
  const nodes = new Set<string>();
  const jobs: Array<StoreP2PMessageJob | StoreGroupMessageJob> = [];
  // A bus message holds one job, or a turn's jobs with the `jobs: batch` header (store_job.proto).
  for (const [queue, one, many] of [
    [
      STORE_QUEUES.p2p,
      (b: Uint8Array) => StoreP2PMessageJob.decode(b),
      (b: Uint8Array) => StoreP2PMessageJobs.decode(b).jobs,
    ],
    [
      STORE_QUEUES.group,
      (b: Uint8Array) => StoreGroupMessageJob.decode(b),
      (b: Uint8Array) => StoreGroupMessageJobs.decode(b).jobs,
    ],
  ] as const) {
    if (opts.consumeJobs === false) break;
    await bus.declareQueue(queue, { durable: true });
    consumers.push(
      await bus.consume(queue, async (msg) => {
        jobs.push(...(isJobBatch(msg.headers) ? many(msg.body) : [one(msg.body)]));
      }),
    );
  }

  const watch = async (node: string) => {
    if (nodes.has(node)) return;
    nodes.add(node);
    await bus.declareQueue(deliveryQueue(node), DELIVERY_QUEUE_OPTIONS);
    consumers.push(
      await bus.consume(deliveryQueue(node), async (msg) => {
        batchCount.set(node, (batchCount.get(node) ?? 0) + 1);
        const batch = DeliveryBatch.decode(msg.body);
        for (const d of batch.deliveries as Delivery[]) {
          // A delivery names its data in the batch's shared payloads, or carries it itself.
          const dataJson = d.payloadIndex === undefined ? d.dataJson : batch.payloads[d.payloadIndex];
          if (dataJson === undefined) throw new Error(`payload_index ${d.payloadIndex} out of range`);
          received.push({
            node,
            userId: d.userId,
            clientType: d.clientType,
            imei: d.imei,
            command: d.command,
            data: JSON.parse(Buffer.from(dataJson).toString("utf8")) as Record<string, unknown>,
          });
        }
      }),
    );
  };
  const settle = async () => {
    await messaging.idle();
    for (let seen = -1; seen !== received.length + jobs.length; ) {
      seen = received.length + jobs.length;
      await new Promise((r) => setTimeout(r, opts.settleMs ?? 20));
    }
  };

  return {
    database,
    kv,
    bus,
    env,
    config,
    messaging,
    async users(ids, o = {}) {
      await database.db.userData.createMany({
        data: ids.map((userId) => ({
          appId: APP,
          userId,
          nickName: userId,
          userType: o.userType ?? 1,
          forbiddenFlag: o.forbidden ? 1 : 0,
          silentFlag: o.silent ? 1 : 0,
        })),
      });
      await env.changes.bumpUsers(APP, ids); // as the services do after a change
    },
    async friends(a, b) {
      await database.db.friendship.createMany({
        data: [
          { appId: APP, fromId: a, toId: b, status: 1, black: 1 },
          { appId: APP, fromId: b, toId: a, status: 1, black: 1 },
        ],
      });
      await env.changes.bumpUsers(APP, [a, b]);
    },
    async group(groupId, members, o = {}) {
      await database.db.group.create({
        data: {
          appId: APP,
          groupId,
          ownerId: members[0] ?? "",
          mute: o.mute ? 1 : 0,
          status: o.status ?? 1,
        },
      });
      await database.db.groupMember.createMany({
        data: members.map((memberId, i) => ({ appId: APP, groupId, memberId, role: i === 0 ? 2 : 0 })),
      });
      await env.changes.bumpGroup(APP, groupId);
    },
    async online(userId, clientType, imei, node = "n1") {
      await watch(node);
      const now = Date.now();
      await kv.hset(sessionKey(APP, userId), {
        [sessionField(clientType, imei)]: encodeSession({
          appId: APP,
          userId,
          clientType,
          imei,
          nodeId: node,
          connectionId: `${userId}-${imei}`,
          connectState: 1,
          messageType: 0,
          loginAtMs: now,
          lastSeenMs: now,
        }),
      });
    },
    async pushes() {
      await settle();
      return received.splice(0, received.length);
    },
    batches() {
      const copy = new Map(batchCount);
      batchCount.clear();
      return copy;
    },
    async jobs() {
      await settle();
      return jobs.splice(0, jobs.length);
    },
    async close() {
      await messaging.close();
      for (const c of consumers) await c.stop();
      if (opts.bus === undefined) await bus.close();
      if (opts.kv === undefined) await kv.close();
      await database.close();
    },
  };
}
