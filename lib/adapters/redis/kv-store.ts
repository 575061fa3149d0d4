import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { type Logger, pino } from "pino";
import { redactUrl } from "../../log/redact-url.js";
import type { ClaimAndCount, KvStore } from "../../ports/kv.js";
import { keySlot } from "./cluster-slot.js";
import { connectRedis, connectRedisCluster } from "./connection.js";
import { KeyLines, type LinePlace, settleInPlace } from "./key-lines.js";
import { TickBatch } from "./tick-batch.js";

/** lua/kv-incr-above.lua, defined as the `kvIncrAbove` command (EVALSHA, falling back to EVAL). */
const INCR_ABOVE_LUA = readFileSync(new URL("./lua/kv-incr-above.lua", import.meta.url), "utf8");
/** lua/kv-batch.lua, the `kvBatch` command: one turn's single-key operations in one call. */
const BATCH_LUA = readFileSync(new URL("./lua/kv-batch.lua", import.meta.url), "utf8");

/**
 * What the adapter calls, on a single node (`Redis`) or a cluster (`Cluster`, whose commands
 * have the same signatures; typed as `Redis` so one code path serves both).
 */
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
  /**
   * `url` is one node of a Redis Cluster (config `redis.cluster`): the adapter connects with
   * ioredis' `Cluster`, runs each turn's batch as one script call per slot and splits
   * `claimAndCount` over two slots into steps (see there). Default false: one server.
   */
  cluster?: boolean;
}

/**
 * The kv port on Redis 7 (ioredis). Semantics in `KvStore`; mapping:
 * set = SET [PX ttl] [NX], incrBy = INCRBY, incrAbove = lua/kv-incr-above.lua,
 * and get, mget, set, incrBy, del, hgetall(Many), claimAndCount of one event-loop turn go to
 * Redis together, in call order, as one lua/kv-batch.lua call (tick-batch.ts);
 * expire = PEXPIRE (0: PERSIST), hashes = HGET/HSET/HDEL/HGETALL (HSET keeps
 * the TTL and Redis removes an emptied hash itself). Prefixing is ioredis'
 * `keyPrefix`. On a Redis Cluster (`cluster: true`) the batch goes out as one script call per
 * slot and multi-key reads (mget, hgetallMany, del) are therefore split by slot; see
 * docs/kv-keys.md for the key layout. Every failure rejects with an error naming the operation and
 * the server (never its password), the driver's error as `cause`. See
 * `connectRedis` for reconnects and how long a command waits while Redis is
 * down.
 *
 * Answer order: on one server every operation is answered in the order it ran, since one
 * connection's replies come back in order; the sequence allocator relies on that for the counts of
 * a counter (sequence-allocator.ts `counted`). On a cluster a claimAndCount over two slots runs in
 * steps and its count is answered a round trip after it was taken (#claimAndCountInSteps), so while
 * one is in flight, every operation on its counter waits for its place in the counter's answer line.
 */
export class RedisKvStore implements KvStore {
  private closed = false;
  readonly #batch: TickBatch;

  /**
   * Per counter, the claimAndCounts waiting to issue their count behind a stepwise one
   * (#claimAndCountInSteps, #claimAndCountInTurn).
   */
  readonly #countTurns = new KeyLines();
  /**
   * Per counter with a stepwise claimAndCount in flight, the operations on it in the order they
   * were issued to Redis, which is the order they ran in: each is answered in its place
   * (see #claimAndCountInSteps and #inLine). Empty on one server.
   */
  readonly #answerLines = new KeyLines();

  /** On a cluster, the slot of an (unprefixed) key as it reaches Redis; undefined on one server. */
  readonly #slotOf: ((key: string) => number) | undefined;

  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly where: string,
    cluster?: { keyPrefix: string },
  ) {
    this.#slotOf = cluster === undefined ? undefined : (key) => keySlot(cluster.keyPrefix + key);
    this.#batch = new TickBatch((keys, args) => redis.kvBatch(keys.length, ...keys, ...args), this.#slotOf);
  }

  /** Connects (rejecting with a clear error when Redis is unreachable) and loads the scripts. */
  static async connect(opts: RedisKvStoreOptions): Promise<RedisKvStore> {
    const connection = {
      url: opts.url,
      keyPrefix: opts.keyPrefix,
      logger: opts.logger ?? pino({ level: "silent" }),
      scripts: {
        kvIncrAbove: { lua: INCR_ABOVE_LUA, numberOfKeys: 1 },
        // Dynamic key count: the first argument says how many keys follow.
        kvBatch: { lua: BATCH_LUA },
      },
    };
    if (opts.cluster === true) {
      if (opts.keyPrefix.includes("{")) {
        // A `{` in the prefix would become every untagged key's hash tag: the whole kv in one slot.
        throw new Error("redis.keyPrefix must not contain { on a Redis Cluster (it would be the hash tag)");
      }
      const cluster = await connectRedisCluster(connection);
      // The Cluster client has the same command methods (see ScriptedRedis).
      return new RedisKvStore(cluster as unknown as ScriptedRedis, redactUrl(opts.url), {
        keyPrefix: opts.keyPrefix,
      });
    }
    const redis = await connectRedis(connection);
    return new RedisKvStore(redis as ScriptedRedis, redactUrl(opts.url));
  }

  get(key: string): Promise<string | null> {
    return this.#inLine(
      [key],
      this.run("get", key, () => this.#get(key)),
    );
  }

  mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.#inLine(
      keys,
      this.run("mget", keys[0] ?? "", () => Promise.all(keys.map((key) => this.#get(key, "m")))),
    );
  }

  set(key: string, value: string, opts?: { ttlMs?: number; ifAbsent?: boolean }): Promise<boolean> {
    const reply = this.run("set", key, async () => {
      const ttlMs = checkTtl(opts?.ttlMs ?? 0);
      const ifAbsent = opts?.ifAbsent === true ? "1" : "0";
      return (await this.#batch.add(key, ["s", value, String(ttlMs), ifAbsent])) === 1;
    });
    return this.#inLine([key], reply);
  }

  del(...keys: string[]): Promise<number> {
    const reply = this.run("del", keys.join(" "), async () => {
      const counts = await Promise.all(keys.map((key) => this.#batch.add(key, ["d"])));
      return counts.reduce((n: number, c) => n + Number(c), 0);
    });
    return this.#inLine(keys, reply);
  }

  incrBy(key: string, by = 1): Promise<number> {
    const reply = this.run("incrBy", key, async () =>
      Number(await this.#batch.add(key, ["i", String(checkInteger(by, "by"))])),
    );
    return this.#inLine([key], reply);
  }

  claimAndCount(key: string, counter: string, op: ClaimAndCount): Promise<number | null> {
    const slotOf = this.#slotOf;
    if (slotOf !== undefined) {
      const apart = slotOf(key) !== slotOf(counter);
      // Keys in one slot (one send in 16 384, or keys sharing a hash tag) still wait for the
      // stepwise calls before them on the counter: the script would otherwise count first.
      if (apart || this.#countTurns.has(counter)) {
        // Its place in the counter's answer line is taken once the count is issued, mid-way.
        let place: LinePlace | undefined;
        const placed = (taken: LinePlace) => {
          place = taken;
        };
        const reply = this.run("claimAndCount", key, () =>
          apart
            ? this.#claimAndCountInSteps(key, counter, op, placed)
            : this.#claimAndCountInTurn(key, counter, op, placed),
        );
        return settleInPlace(reply, () => (place === undefined ? [] : [place]));
      }
    }
    const reply = this.run("claimAndCount", key, async () => {
      const count = await this.#batch.add([key, counter], claimScriptArgs(op));
      return count === null ? null : Number(count);
    });
    return this.#inLine([counter], reply);
  }

  /** claimAndCount as one script, over keys in one slot, in its turn after stepwise calls before it. */
  async #claimAndCountInTurn(
    key: string,
    counter: string,
    op: ClaimAndCount,
    placed: (place: LinePlace) => void,
  ): Promise<number | null> {
    const args = claimScriptArgs(op);
    const turn = this.#countTurns.enter(counter);
    let counting: Promise<unknown>;
    try {
      await turn.before;
      placed(this.#answerLines.enter(counter));
      counting = this.#batch.add([key, counter], args);
    } finally {
      turn.end();
    }
    const count = await counting;
    return count === null ? null : Number(count);
  }

  /**
   * claimAndCount on a cluster whose two keys live in different slots, where no script can touch
   * both (docs/kv-keys.md: a send's dedupe key is the sender's, its counter the conversation's,
   * so no hash tag can join them). The same writes as the script, in its order, as three steps:
   * claim (SET NX, the claim's TTL), count (INCRBY 1, only for the winner of the claim), then the
   * value with the count. What others may see in between is a bare claim, the state the script
   * leaves at or below the floor (a caller that finds it waits, as for any claim in progress); the
   * counter still moves only for the caller that claimed. A process dying between the count and
   * the value leaves a bare claim that expires and one unused count (a gap in the sequence, never
   * a duplicate); the single-slot script has no such window.
   *
   * Order, twice over. The counts are taken in call order, as the script takes them (a domain
   * sequences one connection's sends to a conversation in the order they arrived), though the
   * claims live in other slots and come back in any order: each call issues its INCRBY only after
   * the calls before it on the same counter issued theirs (or lost their claim), and INCRBYs of
   * one counter share a slot, so once issued they run in that order. And each count is answered
   * before any later operation on the counter: a count waits a round trip for its value step, and
   * meanwhile a plain increment of the same counter (the allocator counting again after a repair)
   * could be answered first with a higher count; the allocator, finding no re-count in line, would
   * then hand out the earlier send's count after the later one's (seen end to end: a
   * conversation's first sends numbered after the next ones). So the call takes its place in the
   * counter's answer line as it issues its INCRBY (`placed`), and every operation on the counter
   * issued after that is answered after it (#inLine).
   */
  async #claimAndCountInSteps(
    key: string,
    counter: string,
    op: ClaimAndCount,
    placed: (place: LinePlace) => void,
  ): Promise<number | null> {
    const { claimTtl, above, ttl } = claimArgs(op);
    const turn = this.#countTurns.enter(counter);
    const claiming = this.#batch.add(key, ["s", op.claim, claimTtl, "1"]);
    let counting: Promise<unknown> | undefined;
    try {
      const claimed = (await claiming.finally(() => turn.before)) === 1;
      // A lost claim takes its place too: callers are answered in call order, as by one script.
      placed(this.#answerLines.enter(counter));
      if (!claimed) return null;
      counting = this.#batch.add(counter, ["i", "1"]);
    } finally {
      turn.end();
    }
    let count: number;
    try {
      count = Number(await counting);
    } catch (err) {
      // The counter refused: leave the key as it was (missing), as the script does.
      await this.#batch.add(key, ["d"]).catch(() => undefined);
      throw err;
    }
    if (count > above)
      await this.#batch.add(key, ["s", `${op.prefix}${count - above}${op.suffix}`, ttl, "0"]);
    return count;
  }

  incrAbove(key: string, floor: number, by = 1): Promise<number> {
    // The sequence allocator's repair: on a cluster it takes its place after stepwise counts in flight.
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
    return this.#inLine(
      [key],
      this.run("hgetall", key, () => this.#hgetall(key)),
    );
  }

  hgetallMany(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    if (keys.length === 0) return Promise.resolve([]);
    const reply = this.run("hgetallMany", keys[0] ?? "", () =>
      Promise.all(keys.map((key) => this.#hgetall(key))),
    );
    return this.#inLine(keys, reply);
  }

  /**
   * `reply` of an operation on `keys` that was just issued: answered at once, or, for a key with a
   * stepwise claimAndCount in flight (a counter, on a cluster), after it (#claimAndCountInSteps).
   */
  #inLine<T>(keys: readonly string[], reply: Promise<T>): Promise<T> {
    const places = this.#answerLines.join(keys);
    return places.length === 0 ? reply : settleInPlace(reply, () => places);
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
    return this.#inLine([key], this.run(op, key, command));
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

/** The arguments of claimAndCount's script (lua/kv-batch.lua, operation "c"), checked. */
function claimScriptArgs(op: ClaimAndCount): string[] {
  const { claimTtl, above, ttl } = claimArgs(op);
  return ["c", op.claim, claimTtl, String(above), op.prefix, op.suffix, ttl];
}

/** claimAndCount's checked arguments as the script and the steps pass them. */
function claimArgs(op: ClaimAndCount): { claimTtl: string; above: number; ttl: string } {
  return {
    claimTtl: String(positiveTtl(op.claimTtlMs)),
    above: checkInteger(op.above, "above"),
    ttl: String(positiveTtl(op.ttlMs)),
  };
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
