/**
 * Names of the messageSequence counters (spec pitfall 3, §5.2): one counter
 * per P2P pair and one per group, each with a kv key (where sequences are
 * served from) and a database key (its durable high-water mark in
 * `im_sequence_high_water`, docs/architecture.md §4).
 */

/** One messageSequence counter. */
export interface SequenceKey {
  appId: number;
  /** The kv counter: the original's key (`{appId}:messageSeq:{pair}` / `{appId}:groupMessageSeq:{groupId}`). */
  kvKey: string;
  /** `seq_key` of the high-water row: `p2p:{pair}` or `group:{groupId}` (schema.prisma). */
  dbKey: string;
}

/**
 * The pair id of two users: `{larger}_{smaller}` by UTF-16 code units, which
 * is Java's `String.compareTo` order the original used (spec pitfall 4). Both
 * directions of a conversation share it; `a` with itself gives `a_a`, so
 * self-chat has a counter of its own (the original threw, D35).
 *
 * Ids containing `_` can make two pairs share one id (`a_b`+`c` and
 * `c_a`+`b`); they then share one counter, which stays strictly increasing
 * for each of them (with gaps), so the guarantee holds.
 */
export function p2pPairId(a: string, b: string): string {
  return a > b ? `${a}_${b}` : `${b}_${a}`;
}

/** The counter of the P2P conversation between `a` and `b` (either order). */
export function p2pSequenceKey(appId: number, a: string, b: string): SequenceKey {
  const pair = p2pPairId(a, b);
  return { appId, kvKey: `${appId}:messageSeq:${pair}`, dbKey: `p2p:${pair}` };
}

/** The counter of a group's messages. */
export function groupSequenceKey(appId: number, groupId: string): SequenceKey {
  return { appId, kvKey: `${appId}:groupMessageSeq:${groupId}`, dbKey: `group:${groupId}` };
}
