import {
  StoreGroupMessageJob,
  StoreGroupMessageJobs,
  StoreP2PMessageJob,
  StoreP2PMessageJobs,
} from "../../gen/ts/whaleshark/v1/store_job.js";
import type { Config } from "../../lib/config/index.js";
import type { Bus } from "../../lib/ports/bus.js";
import type { Database } from "../../lib/ports/db.js";
import type { KvStore } from "../../lib/ports/kv.js";
import { isJobBatch, STORE_QUEUES } from "../../lib/queues/store-queues.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import type { DomainEnv } from "../../services/domain/core/env.js";
import type { Messaging } from "../../services/domain/messaging/messaging.js";
import { ADMIN, APP_ID, harness, type Received, type TestDb } from "../support/harness/index.js";

/**
 * A messaging core for tests, a preset of the one harness (test/support/harness): a fresh migrated
 * PostgreSQL database, kv and bus (memory unless given), fake gateway nodes whose delivery queues
 * are drained into per-node lists, and the persistence queues drained into job lists (nothing is
 * stored unless a test stores it).
 */

export const APP = APP_ID;
export { ADMIN, type Received };

export interface MessagingHarness {
  database: TestDb;
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
    database?: () => Promise<TestDb>;
  } = {},
): Promise<MessagingHarness> {
  const h = await harness({
    kv: opts.kv,
    bus: opts.bus,
    database: opts.database,
    now: opts.now,
    overrides: { messaging: opts.messaging ?? {}, callbacks: opts.callbacks ?? {} },
  })
    .messaging()
    .start();
  const { kv, bus, env } = h;
  const database = h.database;
  const messaging = h.messaging as Messaging;
  const received = h.fake.received;
  const jobs: Array<StoreP2PMessageJob | StoreGroupMessageJob> = [];
  const consumers: Array<{ stop(): Promise<void> }> = [];
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
    config: h.config("domain-test"),
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
    online: (userId, clientType, imei, node = "n1") => h.fake.online(userId, clientType, imei, node),
    async pushes() {
      await settle();
      return received.splice(0, received.length);
    },
    batches: () => h.fake.batches(),
    async jobs() {
      await settle();
      return jobs.splice(0, jobs.length);
    },
    async close() {
      await messaging.close();
      for (const c of consumers) await c.stop();
      await h.close();
    },
  };
}
