import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { RedisKvStore } from "../../../lib/adapters/redis/kv-store.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { createTestKeyPrefix } from "../../../lib/testing/redis.js";
import { WipeableKv } from "../../../lib/testing/wipeable-kv.js";
import { KV_BASE, SequenceAllocator } from "./sequence-allocator.js";
import { groupSequenceKey, p2pPairId, p2pSequenceKey, type SequenceKey } from "./sequence-keys.js";

/** `callers` concurrent loops of `each` sequential allocations; returns each caller's values. */
async function run(allocators: SequenceAllocator[], key: SequenceKey, callers: number, each: number) {
  return Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      const got: number[] = [];
      const allocator = allocators[c % allocators.length] as SequenceAllocator;
      for (let i = 0; i < each; i++) got.push(await allocator.next(key));
      return got;
    }),
  );
}

function expectStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number);
}

function expectDistinct(values: number[]): void {
  expect(new Set(values).size).toBe(values.length);
}

describe("SequenceAllocator", () => {
  let database: MigratedTestDatabase;
  const db = () => Promise.resolve(database.db);

  beforeAll(async () => {
    database = await migratedTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("names P2P counters by the pair, larger id first, and gives self-chat its own counter", () => {
    expect(p2pPairId("alice", "bob")).toBe("bob_alice");
    expect(p2pPairId("bob", "alice")).toBe("bob_alice");
    expect(p2pSequenceKey(7, "a", "a")).toEqual({ appId: 7, kvKey: "7:messageSeq:a_a", dbKey: "p2p:a_a" });
    expect(groupSequenceKey(7, "g1")).toEqual({ appId: 7, kvKey: "7:groupMessageSeq:g1", dbKey: "group:g1" });
  });

  it("starts a new counter at 1 and counts up by one", async () => {
    const allocator = new SequenceAllocator({ kv: new MemoryKvStore(), db, step: 10 });
    const key = p2pSequenceKey(1, "self", "self");
    const values = [];
    for (let i = 0; i < 25; i++) values.push(await allocator.next(key));
    expect(values).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it("hands out thousands of distinct values to concurrent callers of three processes, each increasing", async () => {
    const kv = new MemoryKvStore();
    const processes = [1, 2, 3].map(() => new SequenceAllocator({ kv, db, step: 50 }));
    const key = groupSequenceKey(1, "concurrent");
    const perCaller = await run(processes, key, 30, 100);
    for (const values of perCaller) expectStrictlyIncreasing(values);
    const all = perCaller.flat();
    expectDistinct(all);
    expect(all.length).toBe(3000);
    // The durable mark covers everything handed out.
    const row = await database.db.sequenceHighWater.findUniqueOrThrow({
      where: { appId_seqKey: { appId: 1, seqKey: key.dbKey } },
    });
    expect(Number(row.maxValue)).toBeGreaterThanOrEqual(Math.max(...all));
  });

  it("resumes above everything handed out when kv lost all its data between two bursts", async () => {
    const kv = new WipeableKv();
    const processes = [1, 2].map(() => new SequenceAllocator({ kv, db, step: 100 }));
    const key = p2pSequenceKey(1, "wipe-a", "wipe-b");
    const before = (await run(processes, key, 10, 50)).flat();
    kv.wipe();
    const after = (await run(processes, key, 10, 50)).flat();
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before));
    expectDistinct([...before, ...after]);
  });

  it("never repeats a value when kv is wiped while callers are allocating", async () => {
    const kv = new WipeableKv();
    const processes = [1, 2, 3].map(() => new SequenceAllocator({ kv, db, step: 20 }));
    const key = groupSequenceKey(1, "wiped-mid-stream");
    let running = true;
    let wipedWhileRunning = 0;
    const wipes = (async () => {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 8));
        if (running) wipedWhileRunning++;
        kv.wipe();
      }
    })();
    const perCaller = await run(processes, key, 12, 150);
    running = false;
    await wipes;
    expect(wipedWhileRunning).toBeGreaterThanOrEqual(2);
    for (const values of perCaller) expectStrictlyIncreasing(values);
    expectDistinct(perCaller.flat());
  });

  it("keeps counting across a deleted Redis key space (RedisKvStore)", async () => {
    const prefix = createTestKeyPrefix();
    const kv = await RedisKvStore.connect({ url: prefix.url, keyPrefix: prefix.prefix });
    try {
      const processes = [1, 2].map(() => new SequenceAllocator({ kv, db, step: 25 }));
      const key = p2pSequenceKey(2, "redis-a", "redis-b");
      const first = await run(processes, key, 8, 40);
      expect(Number(await kv.get(key.kvKey))).toBeGreaterThan(KV_BASE);
      await prefix.cleanup(); // every key of this test gone, as after a Redis restart
      expect(await kv.get(key.kvKey)).toBeNull();
      const second = await run(processes, key, 8, 40);
      expect(Math.min(...second.flat())).toBeGreaterThan(Math.max(...first.flat()));
      for (let c = 0; c < 8; c++) expectStrictlyIncreasing([...(first[c] ?? []), ...(second[c] ?? [])]);
      expectDistinct([...first.flat(), ...second.flat()]);
    } finally {
      await kv.close();
      await prefix.cleanup();
    }
  });

  it("opens a counter once per process when many callers find it missing at the same moment", async () => {
    // A burst on a new (or lost) counter: every caller's first increment lands below KV_BASE. One
    // repair per process is enough; the others take the values after it, with no gap and without
    // queueing on the counter's row lock.
    const kv = new WipeableKv();
    const allocator = new SequenceAllocator({ kv, db, step: 1000 });
    const key = groupSequenceKey(1, "burst-on-first-use");
    const first = await Promise.all(Array.from({ length: 20 }, () => allocator.next(key)));
    expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    kv.wipe();
    const after = await Promise.all(Array.from({ length: 20 }, () => allocator.next(key)));
    const floor = Math.min(...after);
    expect(floor).toBeGreaterThan(20);
    expect([...after].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => floor + i));
  });

  it("writes the database about once per step, not once per sequence", async () => {
    let raises = 0;
    const counting = async () => {
      const real = database.db;
      return new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === "$queryRaw") raises++;
          return Reflect.get(target, prop, receiver);
        },
      });
    };
    const allocator = new SequenceAllocator({ kv: new MemoryKvStore(), db: counting, step: 100 });
    const key = groupSequenceKey(1, "few-writes");
    for (let i = 0; i < 1000; i++) await allocator.next(key);
    // 1 open of the new counter + one raise per 100 sequences after the first 100.
    expect(raises).toBeLessThanOrEqual(12);
  });

  it("keeps the order of counts taken around a repair: a later count waits for the earlier ones' re-counts", async () => {
    // Counts 1 and 2 of a new counter are taken; while the first repairs it, a third send counts
    // right after the repair moved the counter (before the second counted again). Arrival order
    // 1, 2, 3 must give increasing sequences although the third's own count is the lowest above
    // the base.
    const inner = new MemoryKvStore();
    let afterRepair: (() => void) | undefined;
    const kv = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === "incrAbove") {
          return async (k: string, floor: number, by?: number) => {
            const value = await target.incrAbove(k, floor, by);
            afterRepair?.();
            return value;
          };
        }
        const member = Reflect.get(target, prop, receiver);
        return typeof member === "function" ? member.bind(target) : member;
      },
    });
    const allocator = new SequenceAllocator({ kv, db, step: 10 });
    const key = p2pSequenceKey(1, "order-a", "order-b");
    const [c1, c2] = [await kv.incrBy(key.kvKey), await kv.incrBy(key.kvKey)];
    let third: Promise<number> | undefined;
    afterRepair = () => {
      afterRepair = undefined;
      third = kv.incrBy(key.kvKey).then((c3) => {
        expect(c3).toBeGreaterThan(KV_BASE); // counted right after the repair, before the second's re-count
        return allocator.counted(key, c3);
      });
    };
    const first = allocator.counted(key, c1);
    const second = allocator.counted(key, c2);
    const got = [await first, await second];
    await new Promise((resolve) => setTimeout(resolve, 0));
    got.push(await (third as Promise<number>));
    expectStrictlyIncreasing(got);
    expectDistinct(got);
  });
});
