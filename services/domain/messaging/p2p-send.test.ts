import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { MessageContent } from "../../../gen/ts/whaleshark/v1/message.js";
import type { StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { MemoryBus } from "../../../lib/adapters/memory/bus.js";
import { isImError } from "../../../lib/errors/index.js";
import type { Bus } from "../../../lib/ports/bus.js";
import { P2P } from "../../../lib/wire/conversation-type.js";
import {
  APP,
  type MessagingHarness,
  startMessagingHarness,
  storeBody,
} from "../../../test/domain/messaging-harness.js";
import type { SenderDevice } from "./chat-message.js";
import { chatServiceHandlers } from "./chat-service.js";
import { Messaging } from "./messaging.js";
import { SendDedupe } from "./send-dedupe.js";
import type { SendInput } from "./send-pipeline.js";

const PHONE: SenderDevice = { clientType: 3, imei: "phone" };

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (isImError(error)) return error.code;
    throw error;
  }
}

describe("P2P sends (1103, MessageService.SendMessage)", () => {
  let h: MessagingHarness;
  let n = 0;
  const id = (name: string) => `${name}-${++n}`;
  const sendInput = (): SendInput => ({
    conversationType: P2P,
    appId: APP,
    fromId: "alice",
    toId: "bob",
    messageId: id("m"),
    messageBody: "hello",
    messageTime: 1_700_000_000_000,
    extra: "",
    device: PHONE,
  });
  const send = (over: Partial<SendInput>) => h.messaging.send({ ...sendInput(), ...over });
  beforeAll(async () => {
    h = await startMessagingHarness();
    await h.users(["alice", "bob", "carol", "dave", "lonely"]);
    await h.users(["banned"], { forbidden: true });
    await h.users(["hushed"], { silent: true });
    await h.friends("alice", "bob");
    await h.friends("alice", "carol");
    await h.friends("banned", "bob");
    await h.friends("hushed", "bob");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("publishes one durable job, answers with key and sequence, and pushes to the right devices", async () => {
    await h.online("alice", 3, "phone", "n1");
    await h.online("alice", 1, "web", "n2");
    await h.online("bob", 3, "bob-phone", "n2");
    await h.pushes();
    h.batches();
    const m = await send({ messageId: "first" });
    expect(m.messageSequence).toBeGreaterThan(0);
    expect(m.messageKey).toBeGreaterThan(0);

    const jobs = (await h.jobs()) as StoreP2PMessageJob[];
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.message).toMatchObject({
      appId: APP,
      fromId: "alice",
      toId: "bob",
      messageId: "first",
      messageBody: "hello",
      messageKey: m.messageKey,
      messageSequence: m.messageSequence,
    });

    const pushes = await h.pushes();
    const to = pushes.map((p) => `${p.node}/${p.userId}/${p.imei}/${p.command}`).sort();
    // The sync copy skips the sending device; the receiver is online, so no server 1107.
    expect(to).toEqual(["n2/alice/web/1103", "n2/bob/bob-phone/1103"]);
    expect(pushes[0]?.data).toMatchObject({ messageId: "first", messageKey: m.messageKey, fromId: "alice" });
    expect(h.batches()).toEqual(new Map([["n2", 1]])); // both deliveries in ONE publish to n2
  });

  it("counts the pair's sequence up in both directions and separately per pair", async () => {
    const a = await send({ fromId: "alice", toId: "bob" });
    const b = await send({ fromId: "bob", toId: "alice" });
    const c = await send({ fromId: "alice", toId: "carol" });
    expect(b.messageSequence).toBe(a.messageSequence + 1);
    expect(c.messageSequence).toBe(1);
    expect(b.messageKey).toBeGreaterThan(a.messageKey);
    await h.jobs();
  });

  it("sends 1107 serverSend to the sending device when no receiver device is online", async () => {
    await h.pushes();
    const m = await send({ toId: "carol" });
    const pushes = await h.pushes();
    const ack = pushes.find((p) => p.command === Command.COMMAND_MSG_RECEIVE_ACK);
    expect(ack).toMatchObject({ userId: "alice", imei: "phone" });
    expect(ack?.data).toEqual({
      fromId: "alice",
      toId: "carol",
      messageKey: m.messageKey,
      messageSequence: m.messageSequence,
      serverSend: true,
    });
    expect(pushes.filter((p) => p.command === Command.COMMAND_MSG_RECEIVE_ACK)).toHaveLength(1);
    await h.jobs();
  });

  it("answers a resend with the first ACK, stores nothing twice and delivers it again", async () => {
    const first = await send({ messageId: "resend", messageBody: "once" });
    await h.pushes();
    const again = await send({ messageId: "resend", messageBody: "once" });
    expect(again).toEqual(first);
    expect(await h.jobs()).toHaveLength(1);
    const redelivered = (await h.pushes()).filter((p) => p.userId === "bob");
    expect(redelivered.map((p) => p.data.messageKey)).toEqual([first.messageKey]);
  });

  it("recognises a resend after the kv cache is gone, from the stored body", async () => {
    const first = await send({ messageId: "expired" });
    const [job] = (await h.jobs()) as StoreP2PMessageJob[];
    await storeBody(h.database.db, job as StoreP2PMessageJob);
    await h.kv.del(SendDedupe.key(APP, "alice", "expired")); // the TTL ran out, or Redis restarted
    const again = await send({ messageId: "expired" });
    expect(again).toMatchObject({
      messageKey: first.messageKey,
      messageSequence: first.messageSequence,
      messageId: "expired",
    });
    expect(await h.jobs()).toHaveLength(0);
  });

  it("accepts concurrent identical sends once", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => send({ messageId: "racing" })));
    for (const r of results) expect(r).toEqual(results[0]);
    expect(await h.jobs()).toHaveLength(1);
  });

  it("accepts a send racing on two domain processes once, and counts no sequence for the copy that lost", async () => {
    const other = new Messaging({
      env: h.env,
      bus: h.bus,
      logger: pino({ level: "silent" }),
      config: h.config,
    });
    try {
      // Both processes know the pair and its counter, so neither copy is held up by a first load
      // and both look the id up before either claims it.
      const pair = { fromId: "carol", toId: "alice" };
      await send(pair);
      await other.send({ ...sendInput(), ...pair });
      await h.jobs();
      const racing = { ...pair, messageId: id("two-processes") };
      const [a, b] = await Promise.all([send(racing), other.send({ ...sendInput(), ...racing })]);
      expect(b).toEqual(a);
      const next = await send({ fromId: "carol", toId: "alice" });
      expect(next.messageSequence).toBe(a.messageSequence + 1);
      expect(await h.jobs()).toHaveLength(2);
    } finally {
      await other.close();
    }
  });

  it("keeps the dedupe keys of different senders apart, whatever their ids contain", () => {
    expect(SendDedupe.key(APP, "a:b", "c")).not.toBe(SendDedupe.key(APP, "a", "b:c"));
  });

  it("refuses a message_id already used in another conversation", async () => {
    await send({ messageId: "reused", toId: "bob" });
    expect(await codeOf(send({ messageId: "reused", toId: "carol" }))).toBe(90001);
    await h.jobs();
  });

  it("lets a user chat with themselves: own counter, copies to the other devices, no 1107", async () => {
    await h.pushes();
    const m = await send({ toId: "alice", messageId: "note-to-self" });
    expect(m.messageSequence).toBe(1);
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.imei}/${p.command}`)).toEqual(["alice/web/1103"]);
    await h.jobs();
  });

  it("refuses with the checks' codes (spec §5.3, D28)", async () => {
    expect(await codeOf(send({ messageId: "" }))).toBe(90001);
    expect(await codeOf(send({ toId: "" }))).toBe(90001);
    expect(await codeOf(send({ messageBody: "x".repeat(5001) }))).toBe(90001);
    expect(await codeOf(send({ fromId: "ghost" }))).toBe(20001);
    expect(await codeOf(send({ toId: "ghost" }))).toBe(20001);
    expect(await codeOf(send({ fromId: "banned" }))).toBe(50003);
    expect(await codeOf(send({ fromId: "hushed" }))).toBe(50002);
    expect(await codeOf(send({ toId: "dave" }))).toBe(30008);
    const rel = (fromId: string, toId: string) => ({
      where: { appId_fromId_toId: { appId: APP, fromId, toId } },
    });
    // These edits go around the friendship service, so they bump the owners' change tokens as
    // the service would (send-permissions.ts caches the rows under them).
    const edits = {
      update: async (q: ReturnType<typeof rel> & { data: { status?: number; black?: number } }) => {
        await h.database.db.friendship.update(q);
        await h.env.changes.bumpUsers(APP, [q.where.appId_fromId_toId.fromId]);
      },
    };
    await edits.update({ ...rel("alice", "carol"), data: { status: 2 } });
    expect(await codeOf(send({ toId: "carol" }))).toBe(30004);
    await edits.update({ ...rel("alice", "carol"), data: { status: 1 } });
    await edits.update({ ...rel("carol", "alice"), data: { status: 2 } });
    expect(await codeOf(send({ toId: "carol" }))).toBe(30005);
    await edits.update({ ...rel("carol", "alice"), data: { status: 1, black: 2 } });
    expect(await codeOf(send({ toId: "carol" }))).toBe(30007);
    await edits.update({ ...rel("alice", "carol"), data: { black: 2 } });
    expect(await codeOf(send({ toId: "carol" }))).toBe(30006);
    await h.database.db.friendship.updateMany({
      where: { appId: APP, fromId: { in: ["alice", "carol"] } },
      data: { black: 1 },
    });
    await h.env.changes.bumpUsers(APP, ["alice", "carol"]);
    expect(await h.jobs()).toHaveLength(0); // nothing refused was published
  });
});

describe("P2P sends without relationship checks", () => {
  it("sends between strangers when checkFriendship and checkBlacklist are off", async () => {
    const h = await startMessagingHarness({ messaging: { checkFriendship: false, checkBlacklist: false } });
    try {
      await h.users(["x", "y"]);
      const m = await h.messaging.send({
        conversationType: P2P,
        appId: APP,
        fromId: "x",
        toId: "y",
        messageId: "stranger",
        messageBody: "hi",
        messageTime: 0,
        extra: "",
        device: { clientType: 0, imei: "" },
      });
      expect(m.messageSequence).toBe(1);
      expect(m.messageTime).toBeGreaterThan(0); // 0 = now
      expect(await h.jobs()).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});

/** A memory bus whose every publish first awaits `before(queue)` (a slow or refusing broker). */
function interceptedBus(before: (queue: string) => Promise<void>) {
  const inner = new MemoryBus();
  const bus = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "publish") {
        return async (queue: string, body: Uint8Array, headers?: Record<string, string>) => {
          await before(queue);
          return target.publish(queue, body, headers);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { inner, bus };
}

/** ann's message `messageId` to ben, from her phone. */
function annToBen(messageId: string, messageTime = Date.now()): SendInput {
  return {
    conversationType: P2P,
    appId: APP,
    fromId: "ann",
    toId: "ben",
    messageId,
    messageBody: messageId,
    messageTime,
    extra: "",
    device: PHONE,
  };
}

describe("the delivery of a retried send", () => {
  it("queues behind the conversation's pushes still waiting, never ahead of them", async () => {
    // The next delivery to a gateway node waits until `gate` opens (a slow publish), so the
    // conversation's later pushes pile up in its lane behind it.
    let gate: Promise<void> | undefined;
    const { inner, bus } = interceptedBus(async (queue) => {
      const wait = queue.startsWith("deliver.") ? gate : undefined;
      if (wait !== undefined) {
        gate = undefined;
        await wait;
      }
    });
    const h = await startMessagingHarness({ bus });
    try {
      await h.users(["ann", "ben"]);
      await h.friends("ann", "ben");
      await h.online("ben", 3, "ben-phone", "n1");
      let open!: () => void;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      const send = (messageId: string) => h.messaging.send(annToBen(messageId, 0));
      const first = await send("q-1");
      const second = await send("q-2");
      expect(await send("q-2")).toEqual(second); // the retry: same answer, delivered again
      await new Promise((r) => setTimeout(r, 50));
      open();
      const keys = (await h.pushes()).filter((p) => p.userId === "ben").map((p) => p.data.messageKey);
      expect(keys).toEqual([first.messageKey, second.messageKey, second.messageKey]);
    } finally {
      await h.close();
      await inner.close();
    }
  });
});

describe("a send whose job publish did not finish", () => {
  /** Runs `test` on a fresh harness where ann and ben are friends, and closes it. */
  async function withAnnAndBen(test: (h: MessagingHarness) => Promise<void>, bus?: Bus): Promise<void> {
    const h = await startMessagingHarness(bus === undefined ? {} : { bus });
    try {
      await h.users(["ann", "ben"]);
      await h.friends("ann", "ben");
      await test(h);
    } finally {
      await h.close();
    }
  }
  /** A bus whose store-job publishes fail while `failing` is set. */
  function flakyBus() {
    const state = { failing: false };
    const { inner, bus } = interceptedBus(async (queue) => {
      if (state.failing && queue.startsWith("store.")) throw new Error("broker refused the job");
    });
    return { inner, bus, state };
  }
  const input = (messageId: string) => annToBen(messageId);

  it("is published again by the retry under the same key and sequence, never under new ones", async () => {
    const { inner, bus, state } = flakyBus();
    try {
      await withAnnAndBen(async (h) => {
        state.failing = true;
        await expect(h.messaging.send(input("flaky"))).rejects.toThrow("broker refused");
        expect(await h.jobs()).toHaveLength(0);
        state.failing = false;
        const retried = await h.messaging.send(input("flaky"));
        const next = await h.messaging.send(input("after"));
        const jobs = (await h.jobs()) as StoreP2PMessageJob[];
        expect(jobs.map((j) => j.message?.messageId)).toEqual(["flaky", "after"]);
        expect(jobs[0]?.message?.messageKey).toBe(retried.messageKey);
        expect([retried.messageSequence, next.messageSequence]).toEqual([1, 2]);
        expect(await h.messaging.send(input("flaky"))).toEqual(retried); // now plainly accepted
        expect(await h.jobs()).toHaveLength(0);
      }, bus);
    } finally {
      await inner.close();
    }
  });

  it("is finished by a retry once its holder is presumed dead (it died between kv and the bus)", async () => {
    await withAnnAndBen(async (h) => {
      // A holder that wrote key and sequence into kv and died before publishing: an entry
      // as SendDedupe.assign leaves it, older than the takeover time (2 s) though well inside
      // the claim lifetime (10 s): the hole it leaves in the conversation is filled in seconds.
      const orphan = {
        conversationType: P2P,
        appId: APP,
        fromId: "ann",
        toId: "ben",
        messageId: "orphan",
        messageBody: "orphan",
        messageTime: Date.now(),
        extra: "",
        messageKey: 123_456_789,
        messageSequence: 1,
        acceptedTime: Date.now() - 2_500,
      };
      await h.kv.set(
        SendDedupe.key(APP, "ann", "orphan"),
        JSON.stringify({ s: "pending", m: orphan, at: Date.now() - 2_500 }),
      );
      const answer = await h.messaging.send(input("orphan"));
      expect(answer).toMatchObject({ messageKey: 123_456_789, messageSequence: 1 });
      const jobs = (await h.jobs()) as StoreP2PMessageJob[];
      expect(jobs.map((j) => j.message?.messageKey)).toEqual([123_456_789]);
    });
  });

  it("answers a retry of a recalled message as recalled: not accepted again, not delivered again", async () => {
    await withAnnAndBen(async (h) => {
      await h.online("ben", 3, "ben-phone", "n1");
      await h.kv.set("dedupe:epoch", String(Date.now() - 600_000)); // kv alone answers new sends
      const sent = await h.messaging.send(input("regret"));
      const [job] = (await h.jobs()) as StoreP2PMessageJob[];
      await storeBody(h.database.db, job as StoreP2PMessageJob);
      await h.messaging.recall({
        appId: APP,
        operator: "ann",
        isAdmin: async () => false,
        device: PHONE,
        fromId: "",
        toId: "",
        messageKey: sent.messageKey,
      });
      await h.pushes();
      const again = await h.messaging.send(input("regret"));
      expect(again).toMatchObject({ messageKey: sent.messageKey, recalled: true, messageBody: "" });
      expect(await h.jobs()).toHaveLength(0);
      expect(await h.pushes()).toEqual([]);
    });
  });

  it("waits for a younger record to reach the takeover time, then publishes it instead of failing", async () => {
    await withAnnAndBen(async (h) => {
      const at = Date.now() - 1_800;
      const young = { ...input("young"), messageKey: 77, messageSequence: 1, acceptedTime: at };
      const { device: _device, ...message } = young;
      await h.kv.set(SendDedupe.key(APP, "ann", "young"), JSON.stringify({ s: "pending", m: message, at }));
      expect(await h.messaging.send(input("young"))).toMatchObject({ messageKey: 77, messageSequence: 1 });
      expect(Date.now() - at).toBeGreaterThanOrEqual(2_000);
      const jobs = (await h.jobs()) as StoreP2PMessageJob[];
      expect(jobs.map((j) => j.message?.messageKey)).toEqual([77]);
    });
  });

  it("waits for a holder still inside the takeover time instead of taking over", async () => {
    await withAnnAndBen(async (h) => {
      const live = { ...input("busy"), messageKey: 42, messageSequence: 1, acceptedTime: Date.now() };
      const { device: _device, ...message } = live;
      await h.kv.set(
        SendDedupe.key(APP, "ann", "busy"),
        JSON.stringify({ s: "pending", m: message, at: Date.now() }),
      );
      setTimeout(() => {
        void h.kv.set(SendDedupe.key(APP, "ann", "busy"), JSON.stringify({ s: "accepted", m: message }));
      }, 100);
      expect(await h.messaging.send(input("busy"))).toMatchObject({ messageKey: 42 });
      expect(await h.jobs()).toHaveLength(0); // the holder published it, not the retry
    });
  });
});

describe("a batch of sends (ChatService.SendMessages, issue 12)", () => {
  let h: MessagingHarness;
  beforeAll(async () => {
    h = await startMessagingHarness();
    await h.users(["ann", "ben", "cat", "dan", "eve"]);
    for (const peer of ["ben", "cat", "dan"]) await h.friends("ann", peer);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("sequences each conversation in item order and answers every item on its own", async () => {
    const handlers = chatServiceHandlers(h.messaging);
    const session = {
      appId: APP,
      userId: "ann",
      clientType: 3,
      imei: "phone",
      gatewayNodeId: "n1",
      connectionId: "c1",
    };
    const peers = ["ben", "cat", "dan", "eve"]; // eve is no friend: refused (friend check)
    const items = Array.from({ length: 200 }, (_, i) => ({
      session,
      p2p: MessageContent.fromPartial({
        toId: peers[i % peers.length],
        messageId: `batch-${i}`,
        messageBody: `{"n":${i}}`,
        // Old and current send times alternate: the retry lookup takes different paths and times.
        messageTime: i % 3 === 0 ? 1_700_000_000_000 : Date.now(),
      }),
    }));
    const sendMessages = handlers.sendMessages as NonNullable<typeof handlers.sendMessages>;
    const { results } = await sendMessages({ items }, {} as never);
    expect(results).toHaveLength(items.length);
    for (const peer of ["ben", "cat", "dan"]) {
      const sequences = results
        .filter((_, i) => peers[i % peers.length] === peer)
        .map((r) => {
          expect(r.code).toBe(0);
          return r.data?.messageSequence ?? 0;
        });
      // Strictly increasing in item order. Not always 1..n: a conversation's first count finds no
      // counter and repairs it, and counts taken while that repair runs are counted again, so the
      // numbers they first got are gaps (sequence-allocator.ts; gaps are allowed, order is not).
      expect(sequences[0]).toBe(1);
      for (let i = 1; i < sequences.length; i++) {
        expect(sequences[i] as number).toBeGreaterThan(sequences[i - 1] as number);
      }
    }
    const refused = results.filter((_, i) => peers[i % peers.length] === "eve");
    expect(new Set(refused.map((r) => r.code)).size).toBe(1);
    expect(refused[0]?.code).toBeGreaterThan(0);
    expect(refused[0]?.msg).not.toBe("");
    expect(((await h.jobs()) as StoreP2PMessageJob[]).length).toBe(150);
  });

  it("refuses an empty batch as a whole", async () => {
    const sendMessages = chatServiceHandlers(h.messaging).sendMessages as NonNullable<
      ReturnType<typeof chatServiceHandlers>["sendMessages"]
    >;
    expect(await codeOf(sendMessages({ items: [] }, {} as never))).toBe(90001);
  });
});
