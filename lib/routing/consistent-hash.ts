import { createHash } from "node:crypto";

/**
 * The original's route hash (spec §4.6): MD5 of the UTF-8 bytes, first 4 digest bytes read
 * little-endian as an unsigned 32-bit number (`d[3]<<24 | d[2]<<16 | d[1]<<8 | d[0]`).
 * Kept bit-exact so a user lands on the gateway the original would pick for the same node names.
 */
export function routeHash(value: string): number {
  return createHash("md5").update(value, "utf8").digest().readUInt32LE(0);
}

/** Virtual nodes per node besides the real one (the original's `NODE_SIZE = 2`). */
export const VIRTUAL_NODES = 2;

/**
 * The original's TreeMap ring (spec §4.6, `consistentHashModel` 1). Each node value `v` (the
 * `"{ip}:{port}"` string) occupies `routeHash(v)` and, for i in 0..1, `routeHash("node" +
 * routeHash(v) + i)`. A key maps to the first ring entry at or above `routeHash(key)`, wrapping
 * to the lowest entry. Node values are sorted before insertion so that, on the rare hash
 * collision, every process builds the same ring whatever order its registry listed them in
 * (the original inserted in ZooKeeper's child order, virtual nodes first, later puts winning).
 */
export class ConsistentHashRing {
  private readonly points: number[];
  private readonly owners: string[];

  constructor(nodes: Iterable<string>) {
    const ring = new Map<number, string>();
    for (const node of [...new Set(nodes)].sort()) {
      const real = routeHash(node);
      for (let i = 0; i < VIRTUAL_NODES; i++) ring.set(routeHash(`node${real}${i}`), node);
      ring.set(real, node);
    }
    const sorted = [...ring.entries()].sort(([a], [b]) => a - b);
    this.points = sorted.map(([point]) => point);
    this.owners = sorted.map(([, owner]) => owner);
  }

  /** Ring size: 3 entries per node, fewer only on a hash collision. */
  get size(): number {
    return this.points.length;
  }

  /** The node owning `key`, or undefined on an empty ring (callers turn that into 71000). */
  lookup(key: string): string | undefined {
    if (this.points.length === 0) return undefined;
    const hash = routeHash(key);
    // Binary search for the first point >= hash (TreeMap.tailMap(hash).firstKey()).
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] ?? 0) < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.points.length ? 0 : lo];
  }

  /** Ring entries in ascending order, for tests and diagnostics. */
  entries(): Array<[point: number, node: string]> {
    return this.points.map((point, i) => [point, this.owners[i] ?? ""]);
  }
}
