import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { type Logger, pino } from "pino";
import type { ClaimAndCount, KvStore } from "../../ports/kv.js";
import { connectRedis, redactUrl } from "./connection.js";
import { TickBatch } from "./tick-batch.js";

/** lua/kv-incr-above.lua, defined as the `kvIncrAbove` command (EVALSHA, falling back to EVAL). */
const INCR_ABOVE_LUA = readFileSync(new URL("./lua/kv-incr-above.lua", import.meta.url), "utf8");
/** lua/kv-batch.lua, the `kvBatch` command: one turn's single-key operations in one call. */
const BATCH_LUA = readFileSync(new URL("./lua/kv-batch.lua", import.meta.url), "utf8");

type ScriptedRedis = Redis & {
  kvIncrAbove(key: string, floor: string, by: string): Promise<number>;
  kvBatch(numberOfKeys: number, ...keysThenArgs: string[]): Promise<Array<[number, unknown]>>;
};

/** Settings of {@link RedisKvStore.connect}. */
export interface RedisKvStoreOptions {
  /** `redis://[:password@]host:port[/db]`. */
  url: string;
  /** Prepended to every key (config `redis.keyPrefix`, default `ws:`). */
  keyPrefix: string;
  /** Connection problems are logged here; silent when absent. */
  logger?: Logger;
}

/**
 * The kv port on Redis 7 (ioredis). Semantics in `KvStore`; mapping:
 * set = SET [PX ttl] [NX], incrBy = INCRBY, incrAbove = lua/kv-incr-above.lua,
 * and get, mget, set, incrBy, del, hgetall(Many), claimAndCount of one event-loop turn go to
 * Redis together, in call order, as one lua/kv-batch.lua call (tick-batch.ts);
 * expire = PEXPIRE (0: PERSIST), hashes = HGET/HSET/HDEL/HGETALL (HSET keeps
 * the TTL and Redis removes an emptied hash itself). Prefixing is ioredis'
 * `keyPrefix`. Every failure rejects with an error naming the operation and
 * the server (never its password), the driver's error as `cause`. See
 * `connectRedis` for reconnects and how long a command waits while Redis is
 * down.
 */
export class RedisKvStore implements KvStore {
  private closed = false;
  readonly #batch: TickBatch;

  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly where: string,
  ) {
    this.#batch = new TickBatch((keys, args) => redis.kvBatch(keys.length, ...keys, ...args));
  }

  /** Connects (rejecting with a clear error when Redis is unreachable) and loads the scripts. */
  static async connect(opts: RedisKvStoreOptions): Promise<RedisKvStore> {
    const redis = await connectRedis({
      url: opts.url,
      keyPrefix: opts.keyPrefix,
      logger: opts.logger ?? pino({ level: "silent" }),
      scripts: {
        kvIncrAbove: { lua: INCR_ABOVE_LUA, numberOfKeys: 1 },
        // Dynamic key count: the first argument says how many keys follow.
        kvBatch: { lua: BATCH_LUA },
      },
    });
    return new RedisKvStore(redis as ScriptedRedis, redactUrl(opts.url));
  }

  get(key: string): Promise<string | null> {
    return this.run("get", key, () => this.#get(key));
  }

  mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run("mget", keys[0] ?? "", () => Promise.all(keys.map((key) => this.#get(key, "m"))));
  }

  set(key: string, value: string, opts?: { ttlMs?: number; ifAbsent?: boolean }): Promise<boolean> {
    return this.run("set", key, async () => {
      const ttlMs = checkTtl(opts?.ttlMs ?? 0);
      const ifAbsent = opts?.ifAbsent === true ? "1" : "0";
      return (await this.#batch.add(key, ["s", value, String(ttlMs), ifAbsent])) === 1;
    });
  }

  del(...keys: string[]): Promise<number> {
    return this.run("del", keys.join(" "), async () => {
      const counts = await Promise.all(keys.map((key) => this.#batch.add(key, ["d"])));
      return counts.reduce((n: number, c) => n + Number(c), 0);
    });
  }

  incrBy(key: string, by = 1): Promise<number> {
    return this.run("incrBy", key, async () =>
      Number(await this.#batch.add(key, ["i", String(checkInteger(by, "by"))])),
    );
  }

  claimAndCount(key: string, counter: string, op: ClaimAndCount): Promise<number | null> {
    return this.run("claimAndCount", key, async () => {
      const args = [
        "c",
        op.claim,
        String(positiveTtl(op.claimTtlMs)),
        String(checkInteger(op.above, "above")),
      ];
      args.push(op.prefix, op.suffix, String(positiveTtl(op.ttlMs)));
      const count = await this.#batch.add([key, counter], args);
      return count === null ? null : Number(count);
    });
  }

  incrAbove(key: string, floor: number, by = 1): Promise<number> {
    return this.direct("incrAbove", key, (r) =>
      r.kvIncrAbove(key, String(checkInteger(floor, "floor")), String(checkInteger(by, "by"))),
    );
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    return this.direct("expire", key, async (r) => {
      const ms = checkTtl(ttlMs);
      if (ms > 0) return (await r.pexpire(key, ms)) === 1;
      // 0 = no expiry (kv.ts): PERSIST, but PERSIST alone cannot tell a
      // missing key from one without a TTL, so EXISTS rides in the same MULTI.
      const replies = await r.multi().exists(key).persist(key).exec();
      const [existsReply] = replies ?? [];
      if (existsReply?.[0]) throw existsReply[0];
      return existsReply?.[1] === 1;
    });
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.direct("hget", key, (r) => r.hget(key, field));
  }

  hset(key: string, fields: Record<string, string>): Promise<void> {
    return this.direct("hset", key, async (r) => {
      // HSET refuses an empty field list; there is nothing to write anyway.
      if (Object.keys(fields).length > 0) await r.hset(key, fields);
    });
  }

  hdel(key: string, ...fields: string[]): Promise<number> {
    return this.direct("hdel", key, (r) =>
      fields.length === 0 ? Promise.resolve(0) : r.hdel(key, ...fields),
    );
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.run("hgetall", key, () => this.#hgetall(key));
  }

  hgetallMany(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run("hgetallMany", keys[0] ?? "", () => Promise.all(keys.map((key) => this.#hgetall(key))));
  }

  /** GET ("g"), or one key of an MGET ("m": null for a key holding a hash, as MGET answers). */
  async #get(key: string, code: "g" | "m" = "g"): Promise<string | null> {
    const reply = await this.#batch.add(key, [code]);
    return reply === null ? null : String(reply);
  }

  async #hgetall(key: string): Promise<Record<string, string>> {
    const flat = (await this.#batch.add(key, ["h"])) as unknown[];
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[String(flat[i])] = String(flat[i + 1]);
    return hash;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#batch.flush();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect(); // not connected right now: drop the reconnect loop instead
    }
  }

  /** A command outside the batch: it must not overtake the batched operations issued before it. */
  private direct<T>(op: string, key: string, command: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    if (!this.closed) this.#batch.flush();
    return this.run(op, key, command);
  }

  private async run<T>(op: string, key: string, command: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("kv store is closed");
    try {
      return await command(this.redis);
    } catch (err) {
      if (err instanceof RangeError) throw err; // our own argument check, already clear
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`kv ${op} ${key} failed (redis at ${this.where}): ${reason}`, { cause: err });
    }
  }
}

function checkInteger(n: number, name: string): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`kv: ${name} must be a safe integer, got ${n}`);
  return n;
}

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`kv: ttlMs must be >= 0, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

function positiveTtl(ttlMs: number): number {
  if (checkTtl(ttlMs) === 0) throw new RangeError("kv: claimAndCount needs TTLs > 0");
  return Math.ceil(ttlMs);
}
