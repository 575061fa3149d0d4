import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageAck } from "../../gen/ts/whaleshark/v1/message.js";
import { SendDedupe } from "../../services/domain/messaging/send-dedupe.js";
import { eventually } from "../support/harness/eventually.js";
import { type PrivateRedis, startPrivateRedis } from "../support/private-redis.js";
import { APP, type Cluster, startCluster } from "./support/cluster.js";
import type { TestDevice } from "./support/device.js";

/**
 * Redis loses everything (FLUSHALL on a redis-server of this test's own) while six SDK clients
 * stream P2P messages through a gateway, the domain and the store (RabbitMQ, PostgreSQL).
 * docs/architecture.md §4: sequences keep increasing per conversation (the durable high-water mark), nothing
 * ACKed is lost, a retry of a message ACKed before the loss gets its original ACK (the database's
 * unique key answers when the kv cache is gone), and deliveries resume once the gateways have
 * written their sessions again.
 */

const USERS = ["r0", "r1", "r2", "r3", "r4", "r5"];
/** Each user streams to its partner: r0⇄r1, r2⇄r3, r4⇄r5 (both directions share a conversation). */
const partner = (u: string) => USERS[USERS.indexOf(u) ^ 1] as string;
const PER_PHASE = 40;
/**
 * Devices ping every 10 s and gateways renew a session every 15 s of traffic: long enough that
 * only the gateways' restore (within a second of the loss) can bring the sessions back in time.
 */
const HEARTBEAT_MS = 30_000;

interface Sent {
  from: string;
  to: string;
  messageId: string;
  /** The first attempt's time: a resend carries it (sdk P2PMessageInput.messageTime). */
  messageTime: number;
  ack: MessageAck;
  phase: "before" | "during" | "after";
}

describe("Redis loses all its data in the middle of a stream", () => {
  let redis: PrivateRedis;
  let cluster: Cluster;
  const devices = new Map<string, TestDevice>();
  const sent: Sent[] = [];
  let flushAt = 0;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    cluster = await startCluster({
      redisUrl: redis.url,
      // The second gateway takes only the retries below (see there).
      gateways: 2,
      overrides: { gateway: { heartbeatTimeoutMs: HEARTBEAT_MS } },
    });
    await cluster.users(USERS);
    await cluster.friends(USERS);
    for (const [i, u] of USERS.entries()) {
      const d = cluster.device(u, `${u}-phone`, {
        endpoint: () => cluster.endpoint(0, i % 2 === 0 ? "tcp" : "ws"),
        client: { resend: { initialMs: 500, maxMs: 2000, maxAttempts: 20 } },
      });
      await d.connect();
      devices.set(u, d);
    }
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
    await redis?.stop();
  });

  const device = (u: string) => devices.get(u) as TestDevice;

  /** One stream: `count` messages from `from` to its partner, one after the other. */
  const stream = async (from: string, count: number, phase: () => Sent["phase"]) => {
    for (let i = 0; i < count; i++) {
      const messageId = `${from}-${sent.filter((s) => s.from === from).length}-${phase()}`;
      const started = phase();
      const messageTime = Date.now();
      const ack = await device(from).client.sendP2P({
        toId: partner(from),
        messageBody: messageId,
        messageId,
        messageTime,
      });
      const ended = phase();
      sent.push({
        from,
        to: partner(from),
        messageId,
        messageTime,
        ack,
        phase: started === ended ? started : "during",
      });
    }
  };

  it("keeps sequences increasing, loses nothing ACKed and still recognises retries", async () => {
    let phase: Sent["phase"] = "before";
    const streams = USERS.map((u) => stream(u, PER_PHASE, () => phase));
    // Flush once every stream is under way (a third of the messages ACKed), while they keep sending.
    await eventually(() => sent.length >= (USERS.length * PER_PHASE) / 3, 20_000, "stream start");
    phase = "during";
    flushAt = Date.now();
    await redis.flushAll();
    phase = "after";
    await Promise.all(streams);
    const phases = { before: 0, during: 0, after: 0 };
    for (const s of sent) phases[s.phase] += 1;
    console.info(`redis loss: ${sent.length} messages ACKed (${JSON.stringify(phases)})`);
    expect(phases.after).toBeGreaterThan(USERS.length);
    expect(sent.every((s) => s.ack.ok && s.ack.code === 200)).toBe(true);

    // Sequences: strictly increasing along each stream, unique per conversation, and every
    // sequence handed out after the loss is above every one handed out before it.
    for (const u of USERS) {
      const mine = sent.filter((s) => s.from === u).map((s) => s.ack.data?.messageSequence as number);
      for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThan(mine[i - 1] as number);
    }
    for (const [a, b] of [
      ["r0", "r1"],
      ["r2", "r3"],
      ["r4", "r5"],
    ]) {
      const pair = sent.filter((s) => s.from === a || s.from === b);
      const seqs = pair.map((s) => s.ack.data?.messageSequence as number);
      expect(new Set(seqs).size).toBe(seqs.length);
      const before = pair
        .filter((s) => s.phase === "before")
        .map((s) => s.ack.data?.messageSequence as number);
      const after = pair.filter((s) => s.phase === "after").map((s) => s.ack.data?.messageSequence as number);
      expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
    }
    const keys = sent.map((s) => s.ack.data?.messageKey as number);
    expect(new Set(keys).size).toBe(keys.length);

    // Nothing ACKed is lost: every ACK is one row in PostgreSQL with the ACK's key and sequence.
    const db = cluster.database.db;
    await eventually(
      async () => (await db.messageBody.count({ where: { appId: APP } })) >= sent.length,
      15_000,
    );
    const rows = await db.messageBody.findMany({ where: { appId: APP } });
    expect(rows.length).toBe(sent.length);
    for (const s of sent) {
      const row = rows.filter((r) => r.fromId === s.from && r.messageId === s.messageId);
      expect(row.length).toBe(1);
      expect(Number(row[0]?.messageKey)).toBe(s.ack.data?.messageKey);
      expect(Number(row[0]?.messageSequence)).toBe(s.ack.data?.messageSequence);
    }
  }, 60_000);

  it("answers retries of messages ACKed before the loss with their original ACK, storing nothing twice", async () => {
    const db = cluster.database.db;
    const before = sent.filter((s) => s.phase === "before");
    expect(before.length).toBeGreaterThan(USERS.length);
    const rowsBefore = await db.messageBody.count({ where: { appId: APP } });
    const retried = before.filter((_, i) => i % 2 === 0);
    const cached = (s: Sent) => cluster.kv.get(SendDedupe.key(APP, s.from, s.messageId));
    // The kv cache of these sends went with the flush: the database has to answer. The retries come
    // from a second (web) device of each sender on the other gateway: the first one remembers the
    // answers it gave (gateway/commands/send-batcher.ts) and would answer them itself.
    for (const s of retried) expect(await cached(s)).toBeNull();
    const webs = new Map<string, TestDevice>();
    for (const s of retried) {
      let web = webs.get(s.from);
      if (web === undefined) {
        web = cluster.device(s.from, `${s.from}-web`, {
          clientType: 1,
          endpoint: () => cluster.endpoint(1, "tcp"),
          client: { resend: { initialMs: 500, maxMs: 2000, maxAttempts: 20 } },
        });
        await web.connect();
        webs.set(s.from, web);
      }
      // An app's own resend from another device: the same messageId and the first attempt's time.
      const again = await web.client.sendP2P({
        toId: s.to,
        messageBody: s.messageId,
        messageId: s.messageId,
        messageTime: s.messageTime,
      });
      expect(again.data).toEqual(s.ack.data);
    }
    for (const s of retried) expect(await cached(s)).not.toBeNull(); // remembered again
    await new Promise((r) => setTimeout(r, 300));
    expect(await db.messageBody.count({ where: { appId: APP } })).toBe(rowsBefore);
    const grouped = await db.messageBody.groupBy({
      by: ["fromId", "messageId"],
      where: { appId: APP },
      _count: { _all: true },
    });
    expect(grouped.every((g) => g._count._all === 1)).toBe(true);
  }, 30_000);

  it("delivers again once the gateways have written their sessions back, and the SDK fills the gap", async () => {
    // Sessions vanished with the flush; each gateway notices within a second (the kv epoch is
    // gone or changed: gateway/session/session-restorer.ts) and writes every live session back, so live
    // pushes resume within 2 s of the loss, without waiting for the connections' renewals.
    await new Promise((r) => setTimeout(r, Math.max(0, flushAt + 2_000 - Date.now())));
    const finals = await Promise.all(
      USERS.map((u) =>
        device(u).client.sendP2P({
          toId: partner(u),
          messageBody: "after the loss",
          messageId: `${u}-final`,
        }),
      ),
    );
    for (const [i, u] of USERS.entries()) {
      const key = finals[i]?.data?.messageKey;
      await eventually(
        () =>
          device(partner(u))
            .chat()
            .some((m) => m.message.messageKey === key),
        20_000,
        `delivery to ${partner(u)}`,
      );
    }
    // What was sent while the sessions were missing reached nobody by push; the next push showed
    // the receiver a gap in the conversation, which its SDK filled from the store (9009), then
    // stepped over the sequences the allocator skipped after the loss. Every device ends up with
    // every message of its partner, once, in sequence order.
    for (const u of USERS) {
      const got = device(u).chat();
      const keys = got.map((m) => m.message.messageKey);
      const fromPartner = sent.filter((s) => s.to === u).map((s) => s.ack.data?.messageKey);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.slice(0, fromPartner.length)).toEqual(fromPartner);
      expect(keys.length).toBe(fromPartner.length + 1); // and the final one
      const seqs = got.map((m) => m.message.messageSequence);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    }
    console.info(
      `redis loss: ${USERS.map((u) => device(u).synced().length).reduce((a, b) => a + b)} messages ` +
        "sent while sessions were missing were fetched by the SDK",
    );
  }, 40_000);
});
