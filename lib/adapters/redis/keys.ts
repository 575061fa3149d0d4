import type { Cluster, Redis } from "ioredis";

/**
 * Key prefixing. ioredis' `keyPrefix` prepends the prefix to the keys of every
 * command (script KEYS included), so the kv adapter never builds prefixed keys
 * itself. SCAN patterns are the exception: ioredis leaves them alone, so
 * {@link prefixPattern} writes the prefix into a glob that matches it literally.
 */

/** A SCAN MATCH glob matching exactly the keys that start with `prefix`. */
export function prefixPattern(prefix: string): string {
  // `*`, `?`, `[`, `]` and `\` are glob syntax in SCAN MATCH; escape them to match literally.
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

/**
 * Deletes every key starting with `prefix` (SCAN + UNLINK in batches), never
 * anything else: tests clean up their own prefix on a shared server (docs/style.md
 * §6). `redis` must have no `keyPrefix` of its own. Resolves with the count.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix === "") throw new Error("refusing to delete every key: empty prefix");
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", prefixPattern(prefix), "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}

/**
 * {@link deleteKeysWithPrefix} on a Redis Cluster: SCAN runs per node, so every master is scanned,
 * and each key is unlinked alone (one UNLINK over keys of different slots is refused with
 * CROSSSLOT, even on one node). `cluster` must have no `keyPrefix` of its own.
 */
export async function deleteClusterKeysWithPrefix(cluster: Cluster, prefix: string): Promise<number> {
  if (prefix === "") throw new Error("refusing to delete every key: empty prefix");
  let deleted = 0;
  for (const node of cluster.nodes("master")) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", prefixPattern(prefix), "COUNT", 500);
      cursor = next;
      const counts = await Promise.all(keys.map((key) => node.unlink(key)));
      deleted += counts.reduce((n, c) => n + c, 0);
    } while (cursor !== "0");
  }
  return deleted;
}
