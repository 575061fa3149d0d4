import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import type { ClaimAndCount, KvStore } from "../ports/kv.js";

/** A kv store whose backing store can be replaced by an empty one: "Redis lost all its data" (tests). */
export class WipeableKv implements KvStore {
  inner: KvStore = new MemoryKvStore();
  wipe(): void {
    this.inner = new MemoryKvStore();
  }
  get = (k: string) => this.inner.get(k);
  mget = (k: readonly string[]) => this.inner.mget(k);
  set = (k: string, v: string, o?: { ttlMs?: number; ifAbsent?: boolean }) => this.inner.set(k, v, o);
  del = (...k: string[]) => this.inner.del(...k);
  incrBy = (k: string, by?: number) => this.inner.incrBy(k, by);
  claimAndCount = (k: string, c: string, op: ClaimAndCount) => this.inner.claimAndCount(k, c, op);
  incrAbove = (k: string, floor: number, by?: number) => this.inner.incrAbove(k, floor, by);
  expire = (k: string, ttl: number) => this.inner.expire(k, ttl);
  hget = (k: string, f: string) => this.inner.hget(k, f);
  hset = (k: string, f: Record<string, string>) => this.inner.hset(k, f);
  hdel = (k: string, ...f: string[]) => this.inner.hdel(k, ...f);
  hgetall = (k: string) => this.inner.hgetall(k);
  hgetallMany = (k: readonly string[]) => this.inner.hgetallMany(k);
  close = () => this.inner.close();
}
