import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KvStore } from "./kv.js";

/** What a kv adapter's test hands the suite: a fresh, empty store and how to clean it up. */
export interface KvFixture {
  kv: KvStore;
  /** Removes whatever the test wrote (only its own keys) and releases the store. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The semantics of `KvStore` (lib/ports/kv.ts), registered as one vitest
 * `describe`. Every adapter's test calls it with its own factory, so the memory
 * store and Redis cannot drift apart (docs/style.md §5). TTLs are short (tens of ms)
 * to keep the suite fast; the assertions leave room for timer jitter.
 */
export function kvContract(name: string, factory: () => Promise<KvFixture>): void {
  describe(`KvStore contract: ${name}`, () => {
    let fixture: KvFixture;
    let kv: KvStore;
    beforeEach(async () => {
      fixture = await factory();
      kv = fixture.kv;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("reads null for a missing key and the value after set", async () => {
      expect(await kv.get("k")).toBeNull();
      expect(await kv.set("k", "v1")).toBe(true);
      expect(await kv.get("k")).toBe("v1");
      expect(await kv.set("k", "v2")).toBe(true);
      expect(await kv.get("k")).toBe("v2");
    });

    it("writes with ifAbsent only when the key is missing", async () => {
      expect(await kv.set("once", "first", { ifAbsent: true })).toBe(true);
      expect(await kv.set("once", "second", { ifAbsent: true })).toBe(false);
      expect(await kv.get("once")).toBe("first");
    });

    it("expires a key after its TTL, and ifAbsent then writes again", async () => {
      await kv.set("t", "v", { ttlMs: 50, ifAbsent: true });
      expect(await kv.get("t")).toBe("v");
      await sleep(80);
      expect(await kv.get("t")).toBeNull();
      expect(await kv.set("t", "again", { ifAbsent: true })).toBe(true);
    });

    it("keeps a key forever with ttlMs 0, and a plain set clears an earlier TTL", async () => {
      await kv.set("zero", "v", { ttlMs: 0 });
      await kv.set("cleared", "v", { ttlMs: 40 });
      await kv.set("cleared", "w");
      await sleep(70);
      expect(await kv.get("zero")).toBe("v");
      expect(await kv.get("cleared")).toBe("w");
    });

    it("expire sets a TTL on an existing key and reports a missing one", async () => {
      expect(await kv.expire("nobody", 1000)).toBe(false);
      await kv.set("e", "v");
      expect(await kv.expire("e", 50)).toBe(true);
      await sleep(80);
      expect(await kv.get("e")).toBeNull();
    });

    it("expire with 0 removes the TTL", async () => {
      await kv.set("p", "v", { ttlMs: 50 });
      expect(await kv.expire("p", 0)).toBe(true);
      await sleep(80);
      expect(await kv.get("p")).toBe("v");
    });

    it("del counts only the keys that existed", async () => {
      await kv.set("a", "1");
      await kv.hset("h", { f: "1" });
      expect(await kv.del("a", "h", "missing")).toBe(2);
      expect(await kv.get("a")).toBeNull();
      expect(await kv.hgetall("h")).toEqual({});
      expect(await kv.del()).toBe(0);
    });

    it("incrBy counts from 0 for a missing key, by 1 by default, negatives too", async () => {
      expect(await kv.incrBy("n")).toBe(1);
      expect(await kv.incrBy("n", 10)).toBe(11);
      expect(await kv.incrBy("n", -20)).toBe(-9);
      expect(await kv.get("n")).toBe("-9");
    });

    it("incrBy rejects on a value that is not an integer", async () => {
      await kv.set("s", "abc");
      await expect(kv.incrBy("s")).rejects.toThrow();
      expect(await kv.get("s")).toBe("abc");
    });

    it("incrBy keeps the key's TTL", async () => {
      await kv.set("ttl-n", "5", { ttlMs: 60 });
      expect(await kv.incrBy("ttl-n", 2)).toBe(7);
      await sleep(100);
      expect(await kv.get("ttl-n")).toBeNull();
    });

    it("incrAbove resumes above a floor higher than the current value", async () => {
      expect(await kv.incrAbove("seq", 100)).toBe(101);
      await kv.set("seq2", "5");
      expect(await kv.incrAbove("seq2", 100, 10)).toBe(110);
    });

    it("incrAbove behaves like incrBy when the value is already above the floor", async () => {
      await kv.set("seq", "500");
      expect(await kv.incrAbove("seq", 100)).toBe(501);
      expect(await kv.incrAbove("seq", 501, 3)).toBe(504);
      expect(await kv.get("seq")).toBe("504");
    });

    it("incrAbove keeps the key's TTL", async () => {
      await kv.set("seq-ttl", "1", { ttlMs: 60 });
      expect(await kv.incrAbove("seq-ttl", 10)).toBe(11);
      await sleep(100);
      expect(await kv.get("seq-ttl")).toBeNull();
    });

    it("incrBy and incrAbove are atomic under concurrency", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? kv.incrBy("c") : kv.incrAbove("c", 0))),
      );
      expect(new Set(results).size).toBe(50);
      expect(await kv.get("c")).toBe("50");
    });

    const claimOp = {
      claim: "pending",
      claimTtlMs: 60_000,
      above: 100,
      prefix: "<",
      suffix: ">",
      ttlMs: 60_000,
    };

    it("claimAndCount claims a missing key, counts, and writes the count above the floor into it", async () => {
      await kv.set("ctr", "100");
      expect(await kv.claimAndCount("claim", "ctr", claimOp)).toBe(101);
      expect(await kv.get("claim")).toBe("<1>");
      expect(await kv.get("ctr")).toBe("101");
      expect(await kv.claimAndCount("claim2", "ctr", claimOp)).toBe(102);
      expect(await kv.get("claim2")).toBe("<2>");
    });

    it("claimAndCount changes nothing when the key exists", async () => {
      await kv.set("ctr", "200");
      await kv.set("taken", "mine");
      expect(await kv.claimAndCount("taken", "ctr", claimOp)).toBeNull();
      expect(await kv.get("taken")).toBe("mine");
      expect(await kv.get("ctr")).toBe("200");
    });

    it("claimAndCount leaves the bare claim, with the claim's TTL, at or below the floor", async () => {
      expect(await kv.claimAndCount("low", "fresh-ctr", { ...claimOp, claimTtlMs: 60 })).toBe(1);
      expect(await kv.get("low")).toBe("pending");
      await sleep(100);
      expect(await kv.get("low")).toBeNull();
      expect(await kv.get("fresh-ctr")).toBe("1");
    });

    it("claimAndCount gives the written value its own TTL", async () => {
      await kv.set("ctr", "100");
      expect(await kv.claimAndCount("short", "ctr", { ...claimOp, ttlMs: 60 })).toBe(101);
      expect(await kv.get("short")).toBe("<1>");
      await sleep(100);
      expect(await kv.get("short")).toBeNull();
    });

    it("claimAndCount claims once under concurrency and counts only for the winner", async () => {
      await kv.set("ctr", "100");
      const results = await Promise.all(
        Array.from({ length: 20 }, () => kv.claimAndCount("race", "ctr", claimOp)),
      );
      expect(results.filter((r) => r !== null)).toEqual([101]);
      expect(await kv.get("ctr")).toBe("101");
    });

    it("claimAndCount rejects on a counter that is not an integer, or a TTL of 0, and leaves the key missing", async () => {
      await kv.set("word", "abc");
      await expect(kv.claimAndCount("k", "word", claimOp)).rejects.toThrow();
      expect(await kv.get("k")).toBeNull();
      await expect(kv.claimAndCount("k", "ctr", { ...claimOp, ttlMs: 0 })).rejects.toThrow(RangeError);
      expect(await kv.get("k")).toBeNull();
      expect(await kv.get("ctr")).toBeNull();
    });

    it("hset writes fields, keeps the others, and hget/hgetall read them", async () => {
      expect(await kv.hgetall("h")).toEqual({});
      expect(await kv.hget("h", "a")).toBeNull();
      await kv.hset("h", { a: "1", b: "2" });
      await kv.hset("h", { b: "3", c: "4" });
      expect(await kv.hget("h", "a")).toBe("1");
      expect(await kv.hget("h", "missing")).toBeNull();
      expect(await kv.hgetall("h")).toEqual({ a: "1", b: "3", c: "4" });
    });

    it("hset keeps the hash's TTL", async () => {
      await kv.hset("ht", { a: "1" });
      expect(await kv.expire("ht", 60)).toBe(true);
      await kv.hset("ht", { b: "2" });
      expect(await kv.hgetall("ht")).toEqual({ a: "1", b: "2" });
      await sleep(100);
      expect(await kv.hgetall("ht")).toEqual({});
      expect(await kv.hget("ht", "a")).toBeNull();
    });

    it("hdel counts the fields that existed, and an emptied hash disappears", async () => {
      await kv.hset("h", { a: "1", b: "2" });
      expect(await kv.hdel("h", "a", "zz")).toBe(1);
      expect(await kv.hgetall("h")).toEqual({ b: "2" });
      expect(await kv.hdel("h", "b")).toBe(1);
      expect(await kv.hgetall("h")).toEqual({});
      // Gone as a key, not just empty: expire reports it missing and del counts nothing.
      expect(await kv.expire("h", 1000)).toBe(false);
      expect(await kv.del("h")).toBe(0);
      expect(await kv.hdel("missing", "a")).toBe(0);
    });

    it("mget reads many keys in order: null for missing, expired and hash keys", async () => {
      expect(await kv.mget([])).toEqual([]);
      await kv.set("m1", "one");
      await kv.set("m2", "two", { ttlMs: 30 });
      await kv.hset("mh", { f: "1" });
      await sleep(60);
      await kv.set("m3", "");
      expect(await kv.mget(["m1", "m2", "missing", "mh", "m3", "m1"])).toEqual([
        "one",
        null,
        null,
        null,
        "",
        "one",
      ]);
    });

    it("hgetallMany reads many hashes in order, {} for missing ones, and rejects a string key", async () => {
      expect(await kv.hgetallMany([])).toEqual([]);
      await kv.hset("h1", { a: "1" });
      await kv.hset("h2", { b: "2", c: "3" });
      expect(await kv.hgetallMany(["h2", "nope", "h1"])).toEqual([{ b: "2", c: "3" }, {}, { a: "1" }]);
      await kv.set("str", "v");
      await expect(kv.hgetallMany(["h1", "str"])).rejects.toThrow(/WRONGTYPE/);
    });

    it("stores any string: empty, unicode, separators", async () => {
      const value = 'é🐋 "x":{1}\n\0';
      await kv.set("u:é🐋", value);
      await kv.set("empty", "");
      await kv.hset("hu", { "1:imei-é": value });
      expect(await kv.get("u:é🐋")).toBe(value);
      expect(await kv.get("empty")).toBe("");
      expect(await kv.hgetall("hu")).toEqual({ "1:imei-é": value });
    });

    it("rejects operations of the wrong kind and a negative TTL, changing nothing", async () => {
      await kv.set("s", "v");
      await kv.hset("h", { f: "1" });
      await expect(kv.hget("s", "f")).rejects.toThrow(/WRONGTYPE/);
      await expect(kv.hset("s", { f: "2" })).rejects.toThrow(/WRONGTYPE/);
      await expect(kv.get("h")).rejects.toThrow(/WRONGTYPE/);
      await expect(kv.incrBy("h")).rejects.toThrow(/WRONGTYPE/);
      await expect(kv.set("t", "v", { ttlMs: -1 })).rejects.toThrow(RangeError);
      expect(await kv.get("s")).toBe("v");
      expect(await kv.hgetall("h")).toEqual({ f: "1" });
      expect(await kv.get("t")).toBeNull();
      expect(await kv.set("h", "now a string")).toBe(true);
      expect(await kv.get("h")).toBe("now a string");
    });

    it("rejects every call after close", async () => {
      await kv.set("k", "v");
      await kv.close();
      await expect(kv.get("k")).rejects.toThrow();
      await expect(kv.set("k", "v")).rejects.toThrow();
      await expect(kv.hgetall("h")).rejects.toThrow();
      await expect(kv.mget(["k"])).rejects.toThrow();
      await expect(kv.hgetallMany(["h"])).rejects.toThrow();
    });
  });
}
