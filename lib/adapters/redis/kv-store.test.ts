import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { kvContract } from "../../ports/kv.contract.js";
import { createTestKeyPrefix, testRedisUrl } from "../../testing/redis.js";
import { connectRedis } from "./connection.js";
import { deleteKeysWithPrefix, prefixPattern } from "./keys.js";
import { RedisKvStore } from "./kv-store.js";

kvContract("redis", async () => {
  const space = createTestKeyPrefix();
  const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix });
  return {
    kv,
    async cleanup() {
      await kv.close();
      await space.cleanup();
    },
  };
});

// Redis only: prefixing, large counters in Lua, and what a caller sees when the server is unreachable.
describe("RedisKvStore", () => {
  const silent = pino({ level: "silent" });

  it("runs one turn's operations in call order, also around a command outside the batch", async () => {
    const space = createTestKeyPrefix();
    const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix });
    try {
      // Issued without awaiting, as concurrent sends do: each sees the writes issued before it.
      const [claimed, again, read, counted, hashed, removed, after] = await Promise.all([
        kv.set("c", "1", { ifAbsent: true, ttlMs: 10_000 }),
        kv.set("c", "2", { ifAbsent: true }),
        kv.get("c"),
        kv.incrBy("n", 5),
        kv.hset("h", { f: "v" }).then(() => "hset"), // outside the batch: flushes what waits first
        kv.del("c"),
        kv.mget(["c", "n", "h"]),
      ]);
      expect([claimed, again, read, counted, hashed, removed]).toEqual([true, false, "1", 5, "hset", 1]);
      expect(after).toEqual([null, "5", null]);
      expect(await kv.hgetallMany(["h", "missing"])).toEqual([{ f: "v" }, {}]);
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("stores every key under the prefix, and cleanup removes exactly those", async () => {
    const space = createTestKeyPrefix();
    const other = createTestKeyPrefix();
    const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix });
    const neighbour = await RedisKvStore.connect({ url: other.url, keyPrefix: other.prefix });
    await kv.set("a", "1");
    await kv.hset("h", { f: "v" });
    await kv.incrAbove("seq", 5);
    await neighbour.set("a", "mine");
    const raw = await connectRedis({ url: testRedisUrl, logger: silent });
    try {
      expect(await raw.get(`${space.prefix}a`)).toBe("1");
      expect(await raw.hget(`${space.prefix}h`, "f")).toBe("v");
      expect(await raw.get(`${space.prefix}seq`)).toBe("6");
      await space.cleanup();
      expect(await raw.exists(`${space.prefix}a`, `${space.prefix}h`, `${space.prefix}seq`)).toBe(0);
      expect(await neighbour.get("a")).toBe("mine");
    } finally {
      await kv.close();
      await neighbour.close();
      await other.cleanup();
      await raw.quit();
    }
  });

  it("escapes glob characters of a prefix in SCAN patterns", async () => {
    expect(prefixPattern("a*b?[c]\\:")).toBe("a\\*b\\?\\[c\\]\\\\:*");
    const raw = await connectRedis({ url: testRedisUrl, logger: silent });
    const base = createTestKeyPrefix();
    try {
      await raw.set(`${base.prefix}x*:1`, "1");
      await raw.set(`${base.prefix}xy:1`, "1");
      expect(await deleteKeysWithPrefix(raw, `${base.prefix}x*`)).toBe(1);
      expect(await raw.get(`${base.prefix}xy:1`)).toBe("1");
      await expect(deleteKeysWithPrefix(raw, "")).rejects.toThrow(/empty prefix/);
    } finally {
      await base.cleanup();
      await raw.quit();
    }
  });

  it("keeps counters exact beyond Lua's 14 significant digits", async () => {
    const space = createTestKeyPrefix();
    const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix });
    try {
      const floor = 2 ** 52 + 12_345;
      expect(await kv.incrAbove("big", floor)).toBe(floor + 1);
      expect(await kv.get("big")).toBe(String(floor + 1));
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("rejects connect with an error naming the server without its password", async () => {
    const attempt = RedisKvStore.connect({ url: "redis://:hunter2@127.0.0.1:1/0", keyPrefix: "x:" });
    await expect(attempt).rejects.toThrow(
      /redis at redis:\/\/:\[redacted\]@127\.0\.0\.1:1\/0 unreachable: .*ECONNREFUSED/,
    );
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  it("wraps server errors with the operation and the key", async () => {
    const space = createTestKeyPrefix();
    const kv = await RedisKvStore.connect({ url: space.url, keyPrefix: space.prefix });
    try {
      await kv.hset("h", { f: "v" });
      await expect(kv.get("h")).rejects.toThrow(
        /kv get h failed \(redis at redis:\/\/127\.0\.0\.1:6379\): WRONGTYPE/,
      );
      await kv.set("s", "1.5");
      await expect(kv.incrAbove("s", 10)).rejects.toThrow(/not an integer/);
      expect(await kv.get("s")).toBe("1.5");
    } finally {
      await kv.close();
      await space.cleanup();
    }
  });

  it("fails commands within a bounded time while Redis is away, and recovers when it is back", async () => {
    const proxy = await startProxy(6379);
    const space = createTestKeyPrefix();
    const kv = await RedisKvStore.connect({
      url: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix: space.prefix,
    });
    try {
      await kv.set("k", "v");
      await proxy.stop();
      const started = Date.now();
      await expect(kv.get("k")).rejects.toThrow(/kv get k failed \(redis at redis:\/\/127\.0\.0\.1:\d+\)/);
      expect(Date.now() - started).toBeLessThan(8_000);
      await proxy.restart();
      let value: string | null = null;
      for (let i = 0; i < 100 && value === null; i++) {
        value = await kv.get("k").catch(() => null);
        if (value === null) await new Promise((r) => setTimeout(r, 50));
      }
      expect(value).toBe("v");
    } finally {
      await kv.close();
      await proxy.stop();
      await space.cleanup();
    }
  });
});

/** A TCP proxy to Redis that a test can take down and bring back on the same port. */
async function startProxy(target: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = tcpConnect(target, "127.0.0.1");
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("error", () => s.destroy());
          s.on("close", () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1", () => {
        const address = server!.address();
        if (address !== null && typeof address === "object") port = address.port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    restart: listen,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (server?.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}
