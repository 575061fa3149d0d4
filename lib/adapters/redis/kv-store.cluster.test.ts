import { execFileSync } from "node:child_process";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvContract } from "../../ports/kv.contract.js";
import {
  createClusterKeyPrefix,
  startRedisCluster,
  type TestRedisCluster,
} from "../../testing/redis-cluster.js";
import { keySlot } from "./cluster-slot.js";
import { connectRedisCluster } from "./connection.js";
import { RedisKvStore } from "./kv-store.js";

// One six-node cluster (three masters, three replicas) for the whole file.
let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

async function clusterKv() {
  const space = createClusterKeyPrefix(cluster);
  const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix, cluster: true });
  return { kv, space };
}

kvContract("redis cluster", async () => {
  const { kv, space } = await clusterKv();
  return {
    kv,
    async cleanup() {
      await kv.close();
      await space.cleanup();
    },
  };
});

describe("RedisKvStore on a Redis Cluster", () => {
  it("computes the slot Redis computes, hash tags included", () => {
    const port = cluster.nodes[0]?.split(":")[1] ?? "";
    for (const key of ["ws:1:messageSeq:b_a", "ws:{1:g1}x", "a{}b", "{}{x}", "x{y", "é🐋{u}", "{a}b{c}"]) {
      const redisSlot = execFileSync("redis-cli", ["-p", port, "cluster", "keyslot", key], {
        encoding: "utf8",
      });
      expect(keySlot(key), key).toBe(Number(redisSlot.trim()));
    }
  });

  it("splits one turn's operations over many slots and masters, answering each in order", async () => {
    const { kv, space } = await clusterKv();
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      const slots = new Set(keys.map((k) => keySlot(space.prefix + k)));
      expect(slots.size).toBeGreaterThan(50); // really spread out
      await Promise.all(keys.map((k, i) => kv.set(k, String(i))));
      await Promise.all(keys.map((k, i) => kv.hset(`h${k}`, { i: String(i) })));
      expect(await kv.mget([...keys, "missing"])).toEqual([...keys.map((_, i) => String(i)), null]);
      const hashes = await kv.hgetallMany(keys.map((k) => `h${k}`));
      expect(hashes).toEqual(keys.map((_, i) => ({ i: String(i) })));
      expect(await kv.del(...keys, "missing")).toBe(keys.length);
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("runs claimAndCount as one script when both keys share a hash tag, and in steps when they do not", async () => {
    const { kv, space } = await clusterKv();
    const op = { claim: "pending", claimTtlMs: 60_000, above: 10, prefix: "<", suffix: ">", ttlMs: 60_000 };
    try {
      expect(keySlot(`${space.prefix}{c}claim`)).toBe(keySlot(`${space.prefix}{c}ctr`));
      await kv.set("{c}ctr", "10");
      expect(await kv.claimAndCount("{c}claim", "{c}ctr", op)).toBe(11);
      expect(await kv.get("{c}claim")).toBe("<1>");

      expect(keySlot(`${space.prefix}apart-claim`)).not.toBe(keySlot(`${space.prefix}apart-ctr`));
      await kv.set("apart-ctr", "10");
      const raced = await Promise.all(
        Array.from({ length: 10 }, () => kv.claimAndCount("apart-claim", "apart-ctr", op)),
      );
      expect(raced.filter((r) => r !== null)).toEqual([11]);
      expect(await kv.get("apart-claim")).toBe("<1>");
      expect(await kv.get("apart-ctr")).toBe("11");
      await kv.hset("apart-hash", { f: "v" });
      await expect(kv.claimAndCount("apart-claim2", "apart-hash", op)).rejects.toThrow(/WRONGTYPE/);
      expect(await kv.get("apart-claim2")).toBeNull();
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("counts and answers stepwise claims in call order, though their claims live on other nodes", async () => {
    const { kv, space } = await clusterKv();
    const op = { claim: "pending", claimTtlMs: 60_000, above: 0, prefix: "#", suffix: "", ttlMs: 60_000 };
    try {
      const claims = Array.from({ length: 40 }, (_, i) => `send-${i}`);
      expect(new Set(claims.map((k) => keySlot(space.prefix + k))).size).toBeGreaterThan(30);
      await kv.set("taken-7", "mine");
      // One claim shares the counter's slot (one in 16 384 sends do): its single script still
      // counts after the claims before it, which count in steps.
      const sameSlot = `{${space.prefix}conversation}send-20`;
      expect(keySlot(space.prefix + sameSlot)).toBe(keySlot(`${space.prefix}conversation`));
      const answered: Array<number | null> = [];
      const counts = await Promise.all(
        claims.map((k, i) =>
          kv.claimAndCount(i === 7 ? "taken-7" : i === 20 ? sameSlot : k, "conversation", op).then((n) => {
            answered.push(n);
            return n;
          }),
        ),
      );
      const expected = claims.map((_, i) => (i === 7 ? null : i < 7 ? i + 1 : i));
      expect(counts).toEqual(expected);
      expect(answered).toEqual(expected); // and answered in that order
      expect(await kv.get("send-39")).toBe("#39");
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("answers a counter's operations in the order they counted, plain increments among stepwise claims too", async () => {
    // The sequence allocator's contract (sequence-allocator.ts `counted`): a count reaches its caller
    // before any count taken after it on the same counter, as one connection's replies do. Here the
    // claims live on other nodes while the allocator's re-counts (plain increments) keep coming.
    const { kv, space } = await clusterKv();
    const op = { claim: "pending", claimTtlMs: 60_000, above: 0, prefix: "#", suffix: "", ttlMs: 60_000 };
    try {
      const claims = Array.from({ length: 40 }, (_, i) => `send-${i}`);
      expect(claims.every((k) => keySlot(space.prefix + k) !== keySlot(`${space.prefix}conversation`))).toBe(
        true,
      );
      const answered: number[] = [];
      const note = (count: Promise<number | null>) =>
        count.then((n) => {
          if (n !== null) answered.push(n);
          return n;
        });
      let claimsDone = false;
      const claimed = Promise.all(claims.map((k) => note(kv.claimAndCount(k, "conversation", op)))).finally(
        () => {
          claimsDone = true;
        },
      );
      const increments: Array<Promise<number | null>> = [];
      while (!claimsDone) {
        increments.push(note(kv.incrBy("conversation")));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const counts = await claimed;
      await Promise.all(increments);
      expect(increments.length).toBeGreaterThan(0);
      expect(answered).toHaveLength(claims.length + increments.length);
      expect(new Set(answered).size).toBe(answered.length); // each caller its own count
      expect(answered).toEqual([...answered].sort((a, b) => a - b)); // and answered in count order
      expect(counts).toEqual([...(counts as number[])].sort((a, b) => a - b)); // claims in call order
      expect(await kv.get("send-39")).toBe(`#${counts[39]}`);
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("cleans up exactly its own prefix on every master", async () => {
    const mine = await clusterKv();
    const other = await clusterKv();
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `c${i}`);
      await Promise.all(keys.map((k) => mine.kv.set(k, "x")));
      await other.kv.set("c0", "kept");
      await mine.space.cleanup();
      expect(await mine.kv.mget(keys)).toEqual(keys.map(() => null));
      expect(await other.kv.get("c0")).toBe("kept");
    } finally {
      await mine.kv.close();
      await other.kv.close();
      await other.space.cleanup();
    }
  });

  it("refuses a key prefix holding { (it would put every key in one slot)", async () => {
    await expect(RedisKvStore.connect({ url: cluster.url, keyPrefix: "ws{", cluster: true })).rejects.toThrow(
      /must not contain \{/,
    );
  });

  it("rejects a seed that is not reachable, naming it without its password", async () => {
    const attempt = RedisKvStore.connect({
      url: "redis://:hunter2@127.0.0.1:1",
      keyPrefix: "x:",
      cluster: true,
    });
    await expect(attempt).rejects.toThrow(
      /redis cluster at redis:\/\/:\[redacted\]@127\.0\.0\.1:1 unreachable/,
    );
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  // Last: it leaves the cluster with one master fewer (its replica promoted).
  it("keeps serving through the crash of a master: its replica takes over with the data", async () => {
    const { kv, space } = await clusterKv();
    const raw = await connectRedisCluster({ url: cluster.url, logger: pino({ level: "silent" }) });
    try {
      await kv.set("survivor", "before");
      await kv.hset("survivor-hash", { f: "v" });
      // The master holding "survivor", from the cluster's own slot map.
      const slot = keySlot(`${space.prefix}survivor`);
      const ranges = await raw.cluster("SLOTS");
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
      expect(owner).toBeDefined();
      // Its replica has everything written so far once WAIT returns (the replication stream is ordered).
      const master = raw.nodes("master").find((n) => n.options.port === owner?.[1]);
      await master?.set(`${space.prefix}survivor`, "before"); // same key, same value: WAIT needs a write of its own
      expect(await master?.wait(1, 5_000)).toBe(1);
      await cluster.kill(`${owner?.[0]}:${owner?.[1]}`);
      // Calls fail (bounded, with the kv's error) until the failover (cluster-node-timeout 2 s), then succeed.
      const deadline = Date.now() + 30_000;
      let value: string | null = null;
      while (Date.now() < deadline) {
        value = await kv.get("survivor").catch(() => null);
        if (value !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(value).toBe("before");
      expect(await kv.hgetall("survivor-hash")).toEqual({ f: "v" });
      await kv.set("survivor", "after");
      expect(await kv.get("survivor")).toBe("after");
    } finally {
      await raw.quit();
      await kv.close();
    }
  }, 45_000);
});
