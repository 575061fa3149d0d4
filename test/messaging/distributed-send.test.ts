import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RabbitMqBus } from "../../lib/adapters/rabbitmq/bus.js";
import { RedisKvStore } from "../../lib/adapters/redis/kv-store.js";
import { createTestQueuePrefix } from "../../lib/testing/rabbitmq.js";
import { createTestKeyPrefix } from "../../lib/testing/redis.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import type { ChatMessage } from "../../services/domain/messaging/chat-message.js";
import { type StoreConsumer, startStoreConsumer } from "../../services/store/consumer/store-consumer.js";
import { APP, type MessagingHarness, startMessagingHarness } from "../domain/messaging-harness.js";

/**
 * The messaging core on the distributed adapters: Redis (kv), RabbitMQ (bus,
 * publisher confirms) and PostgreSQL, with the store's real persistence
 * consumer writing what the domain accepted. Checks the guarantees of
 * docs/architecture.md §4 end to end below the gateway: every ACKed message is stored
 * exactly once with the ACK's key and sequence, resends get the first ACK
 * (also after Redis lost everything), and sequences keep increasing.
 */

const USERS = ["u0", "u1", "u2", "u3", "u4"];

describe("messaging on Redis, RabbitMQ and PostgreSQL", () => {
  const keys = createTestKeyPrefix();
  const queues = createTestQueuePrefix();
  const logger = pino({ level: "silent" });
  let bus: RabbitMqBus;
  let kv: RedisKvStore;
  let h: MessagingHarness;
  let store: StoreConsumer;
  /** Every ACK by `${fromId}/${messageId}`. */
  const acked = new Map<string, ChatMessage>();
  let n = 0;

  const send = async (fromId: string, toId: string, messageId = `d-${++n}`, type = P2P) => {
    const m = await h.messaging.send({
      conversationType: type === GROUP ? GROUP : P2P,
      appId: APP,
      fromId,
      toId,
      messageId,
      messageBody: `${fromId}→${toId} ${messageId}`,
      messageTime: Date.now(),
      extra: "",
      device: { clientType: 3, imei: `${fromId}-phone` },
    });
    const first = acked.get(`${fromId}/${messageId}`);
    if (first !== undefined)
      expect(m).toMatchObject({ messageKey: first.messageKey, messageSequence: first.messageSequence });
    else acked.set(`${fromId}/${messageId}`, m);
    return m;
  };

  /** Waits until the store wrote every ACKed message. */
  const stored = async () => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const count = await h.database.db.messageBody.count({ where: { appId: APP } });
      if (count >= acked.size || Date.now() > deadline) return count;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    kv = await RedisKvStore.connect({ url: keys.url, keyPrefix: keys.prefix });
    bus = await RabbitMqBus.connect({ url: queues.url, prefix: queues.prefix, logger });
    h = await startMessagingHarness({ kv, bus, consumeJobs: false, settleMs: 200 });
    store = await startStoreConsumer({
      bus,
      db: h.database.db,
      logger,
      batchSize: 100,
      batchWaitMs: 5,
      maxAttempts: 3,
    });
    await h.users(USERS);
    for (const [i, a] of USERS.entries()) for (const b of USERS.slice(i + 1)) await h.friends(a, b);
    await h.group("crowd", USERS);
    await h.online("u0", 3, "u0-phone", "n1");
    await h.online("u1", 3, "u1-phone", "n2");
    await h.online("u2", 1, "u2-web", "n2");
  }, 30_000);

  afterAll(async () => {
    await store?.stop();
    await h?.close();
    await bus?.close();
    await kv?.close();
    await keys.cleanup();
    await queues.cleanup(bus?.createdQueues() ?? []);
  });

  it("stores every ACKed P2P message once, with increasing sequences per pair, also across resends", async () => {
    const pairs = USERS.flatMap((a) => USERS.filter((b) => b !== a).map((b) => [a, b] as const));
    const sentBy = new Map<string, ChatMessage[]>();
    await Promise.all(
      pairs.map(async ([from, to]) => {
        const mine: ChatMessage[] = [];
        for (let i = 0; i < 8; i++) {
          const resend = mine.length > 0 && i % 3 === 2;
          const m = resend
            ? await send(from, to, (mine[i % mine.length] as ChatMessage).messageId)
            : await send(from, to);
          if (!resend) mine.push(m);
        }
        sentBy.set(`${from}>${to}`, mine);
      }),
    );
    for (const mine of sentBy.values()) {
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]?.messageSequence).toBeGreaterThan(mine[i - 1]?.messageSequence as number);
      }
    }
    expect(await stored()).toBe(acked.size);
    const rows = await h.database.db.messageBody.findMany({ where: { appId: APP } });
    for (const row of rows) {
      const ack = acked.get(`${row.fromId}/${row.messageId}`);
      expect(Number(row.messageKey)).toBe(ack?.messageKey);
      expect(Number(row.messageSequence)).toBe(ack?.messageSequence);
    }
    // Both directions of a pair share one strictly increasing counter.
    const ab = rows
      .filter((r) => [r.fromId, r.toId].sort().join() === "u0,u1")
      .map((r) => Number(r.messageSequence));
    expect(new Set(ab).size).toBe(ab.length);
    expect(await h.database.db.messageHistory.count()).toBe(2 * acked.size);
    // Pushes to u1 landed on its node, n2.
    const toU1 = (await h.pushes()).filter((p) => p.userId === "u1" && p.command === 1103);
    expect(toU1.every((p) => p.node === "n2")).toBe(true);
    const keysToU1 = [...acked.values()].filter((m) => m.toId === "u1").map((m) => m.messageKey);
    expect(new Set(toU1.map((p) => p.data.messageKey))).toEqual(new Set(keysToU1));
  }, 60_000);

  it("keeps sequences increasing and recognises resends after Redis lost all its data", async () => {
    const before = await send("u3", "u4");
    const old = [...acked.values()].filter((m) => m.fromId === "u0").slice(0, 5);
    await stored();
    await keys.cleanup(); // every key of this deployment gone, as after a Redis restart
    for (const m of old) await send(m.fromId, m.toId, m.messageId); // same ACK, checked in send()
    const after = await send("u3", "u4");
    expect(after.messageSequence).toBeGreaterThan(before.messageSequence);
    expect(await stored()).toBe(acked.size);
    expect(await h.database.db.messageBody.count({ where: { appId: APP } })).toBe(acked.size);
  }, 30_000);

  it("stores a group message once and publishes it once per gateway node", async () => {
    // The sessions went with Redis in the test above; the gateways write them again.
    await h.online("u0", 3, "u0-phone", "n1");
    await h.online("u1", 3, "u1-phone", "n2");
    await h.online("u2", 1, "u2-web", "n2");
    await h.pushes();
    h.batches();
    const first = await send("u3", "crowd", "g-1", GROUP);
    const second = await send("u4", "crowd", "g-2", GROUP);
    expect(second.messageSequence).toBe(first.messageSequence + 1);
    await stored();
    expect(await h.database.db.groupMessageHistory.count({ where: { appId: APP, groupId: "crowd" } })).toBe(
      2,
    );
    const pushes = (await h.pushes()).filter((p) => p.data.messageKey === first.messageKey);
    expect(pushes.map((p) => p.userId).sort()).toEqual(["u0", "u1", "u2"]);
    expect(h.batches()).toEqual(
      new Map([
        ["n1", 2],
        ["n2", 2],
      ]),
    );
  }, 30_000);
});
