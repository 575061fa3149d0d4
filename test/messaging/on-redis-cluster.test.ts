import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keySlot } from "../../lib/adapters/redis/cluster-slot.js";
import { RedisKvStore } from "../../lib/adapters/redis/kv-store.js";
import { migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import {
  createClusterKeyPrefix,
  startRedisCluster,
  type TestRedisCluster,
} from "../../lib/testing/redis-cluster.js";
import { SendDedupe } from "../../services/domain/messaging/send-dedupe.js";
import { KV_BASE, SequenceAllocator } from "../../services/domain/sequence/sequence-allocator.js";
import { p2pSequenceKey } from "../../services/domain/sequence/sequence-keys.js";
import { eventually } from "../support/harness/eventually.js";
import { type ChatDeployment, distributedChat } from "./support/chat-deployments.js";

/**
 * Issue 20 items 1 and 2: the distributed roles with their kv on a six-node Redis Cluster (three
 * masters, three replicas, started by this test) and every bus queue a RabbitMQ quorum queue.
 * P2P and group messages arrive once, in sequence order, with the sequences their ACKs gave;
 * the send path's claim and its conversation counter lie in different slots here (docs/kv-keys.md),
 * so this runs the adapter's stepwise claimAndCount and its per-slot batches. Each sender's messages
 * are numbered in the order it sent them, as on one Redis.
 */
describe("messaging on a Redis Cluster and quorum queues", () => {
  let redis: TestRedisCluster;
  let deployment: ChatDeployment;

  beforeAll(async () => {
    redis = await startRedisCluster();
    deployment = await distributedChat(
      { redis: { cluster: true }, amqp: { queueType: "quorum" } },
      { redisUrl: redis.url },
    );
  }, 60_000);
  afterAll(async () => {
    await deployment?.close();
    await redis?.stop();
  });

  it("delivers P2P messages once, in order, with the ACKed sequences", async () => {
    const alice = deployment.device("alice", "alice-phone");
    const bob = deployment.device("bob", "bob-phone");
    await alice.connect();
    await bob.connect();
    const bodies = Array.from({ length: 20 }, (_, i) => `p2p ${i}`);
    // All in flight at once: one connection's sends to one conversation keep their order.
    const acks = await Promise.all(
      bodies.map((messageBody) => alice.client.sendP2P({ toId: "bob", messageBody })),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    const sequences = acks.map((a) => a.data?.messageSequence ?? 0);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(bodies.length);
    const p2p = () => bob.chat().filter((m) => m.kind === "p2p");
    await eventually(() => p2p().length >= bodies.length, 15_000, "bob's P2P messages");
    expect(p2p().map((m) => m.message.messageBody)).toEqual(bodies);
    expect(p2p().map((m) => m.message.messageSequence)).toEqual(sequences);
    // A resend of the first message (same messageId) is answered with its first ACK, not stored again.
    const first = acks[0];
    const again = await alice.client.sendP2P({
      toId: "bob",
      messageBody: "p2p 0",
      messageId: first?.data?.messageId,
    });
    expect(again.ok).toBe(true);
    expect(again.data?.messageKey).toBe(first?.data?.messageKey);
    expect(again.data?.messageSequence).toBe(first?.data?.messageSequence);
  }, 40_000);

  it("delivers group messages from two senders once, in sequence order, each the other's", async () => {
    // New devices of the same client type (they replace the phones of the first test: loginMode 3).
    const alice = deployment.device("alice", "alice-tablet");
    const bob = deployment.device("bob", "bob-tablet");
    for (const d of [alice, bob]) await d.connect();
    const fromAlice = Array.from({ length: 10 }, (_, i) => `alice ${i}`);
    const fromBob = Array.from({ length: 10 }, (_, i) => `bob ${i}`);
    const acks = await Promise.all([
      ...fromAlice.map((messageBody) => alice.client.sendGroup({ groupId: "club", messageBody })),
      ...fromBob.map((messageBody) => bob.client.sendGroup({ groupId: "club", messageBody })),
    ]);
    expect(acks.every((a) => a.ok)).toBe(true);
    const allSequences = acks.map((a) => a.data?.messageSequence ?? 0).sort((a, b) => a - b);
    expect(new Set(allSequences).size).toBe(acks.length);
    const group = (d: typeof alice) => d.chat().filter((m) => m.kind === "group");
    for (const [device, expected] of [
      [alice, fromBob],
      [bob, fromAlice],
    ] as const) {
      const name = `${device.userId}/${device.imei}`;
      await eventually(() => group(device).length >= expected.length, 15_000, `${name}'s group messages`);
      await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more (no duplicate) follows
      const seen = group(device);
      expect(seen.length, name).toBe(expected.length);
      const seqs = seen.map((m) => m.message.messageSequence);
      expect(seqs, name).toEqual([...seqs].sort((a, b) => a - b));
      const bodies = seen.map((m) => m.message.messageBody);
      for (const sender of ["alice", "bob"]) {
        const sent = expected.filter((b) => b.startsWith(sender));
        expect(
          bodies.filter((b) => b.startsWith(sender)),
          name,
        ).toEqual(sent);
      }
    }
  }, 40_000);

  it("lets a device that was never online catch up from the store, which consumed the quorum queues", async () => {
    const laptop = deployment.device("bob", "bob-laptop");
    await laptop.connect();
    const synced = (kind: "p2p" | "group") => laptop.synced().filter((m) => m.kind === kind);
    await eventually(
      () => synced("p2p").length >= 20 && synced("group").length >= 20,
      15_000,
      "bob-laptop's catch-up",
    );
    expect(synced("p2p").map((m) => m.message.messageBody)).toEqual(
      Array.from({ length: 20 }, (_, i) => `p2p ${i}`),
    );
    const groupSequences = synced("group").map((m) => m.message.messageSequence);
    expect(groupSequences).toHaveLength(20);
    expect(groupSequences).toEqual([...groupSequences].sort((a, b) => a - b));
  }, 30_000);

  it("numbers a new conversation's sends in arrival order: the send path's kv steps and the allocator", async () => {
    // What the send path does per message once its turn came (send-pipeline.ts): claimAndCount, then
    // the allocator's `counted`, which repairs a new counter and counts again the sends that counted
    // before the repair. Sends arrive a few per event-loop turn, so some count before the repair and
    // some after. A count answered after a re-count taken later (the stepwise claim's value step) once
    // numbered a conversation's first sends after the next ones.
    const space = createClusterKeyPrefix(redis);
    const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix, cluster: true });
    const database = await migratedTestDatabase(2);
    const allocator = new SequenceAllocator({ kv, db: () => Promise.resolve(database.db), step: 50 });
    const claim = { claim: "p", claimTtlMs: 60_000, above: KV_BASE, prefix: "", suffix: "", ttlMs: 60_000 };
    try {
      for (let round = 0; round < 20; round++) {
        const key = p2pSequenceKey(10001, `sender${round}`, "bob");
        const sends: Array<Promise<number>> = [];
        for (let i = 0; i < 40; i++) {
          const dedupeKey = SendDedupe.key(10001, `sender${round}`, `m${i}`);
          sends.push(
            kv.claimAndCount(dedupeKey, key.kvKey, claim).then((count) => {
              if (count === null) throw new Error(`${dedupeKey} was claimed before`); // ids are new
              return allocator.counted(key, count);
            }),
          );
          if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        const sequences = await Promise.all(sends);
        expect(sequences, `round ${round}`).toEqual([...sequences].sort((a, b) => a - b));
        expect(new Set(sequences).size, `round ${round}`).toBe(sequences.length);
      }
    } finally {
      await kv.close();
      await space.cleanup();
      await database.close();
    }
  }, 30_000);

  it("really spreads the conversation state over the cluster's slots", () => {
    // The claim of a send (the sender's) and its counter (the conversation's) are in different
    // slots, which is what the first test exercised on the cluster.
    const counter = p2pSequenceKey(10001, "alice", "bob").kvKey;
    expect(keySlot(`ws:${counter}`)).not.toBe(keySlot("ws:10001:cacheMessage:5:alice:m1"));
  });
});
