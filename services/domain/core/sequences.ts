import type { Database, DatabaseTransaction } from "../../../lib/ports/db.js";

/**
 * Sync sequences of the domain's entities (spec §8, common.proto §4).
 *
 * Decision: the counters are rows of `im_sequence_high_water`, incremented in
 * the SAME database transaction as the change they number, not kv INCRs as
 * in the original. The increment locks the counter row until commit, so two
 * changes numbered from one counter commit in the order of their numbers: a
 * device that synced up to N can never later find a row below N appear (with
 * a kv counter a slow transaction holding 5 could commit after one holding 6
 * was already synced, and 5 would be missed forever). The counter also
 * survives a kv restart without a high-water dance.
 *
 * Counters per USER (fixes D2's unreadable app-wide scheme): a row a user
 * syncs takes its sequence from that user's counter of the module, so the
 * user's sequence map (getUserSequence) is exactly "the highest sequence of
 * my rows". Keys (`seq_key`):
 *   `seq:friendShipSeq:{userId}`         friendships (from_id's rows)
 *   `seq:friendShipRequestSeq:{userId}`  friend requests (both parties sync a request)
 *   `seq:friendShipGroupSeq:{userId}`    friend groups
 *   `seq:conversationSeq:{userId}`       conversations
 *   `seq:groupSeq`                       groups: ONE counter per app, because a group row is
 *                                        synced by all its members (spec §8's app-wide groupSeq)
 * A row seen by two users (a friend request) takes one number above both
 * users' counters, and both counters move to it, so it is monotonic for each.
 * Counters are locked in sorted key order, so concurrent calls cannot deadlock
 * on them.
 */

/** The per-user modules of the sequence map (UserService.GetUserSequence keys). */
export const USER_SEQUENCE_MODULES = [
  "friendShipSeq",
  "friendShipRequestSeq",
  "friendShipGroupSeq",
  "conversationSeq",
] as const;

/** One per-user module. */
export type UserSequenceModule = (typeof USER_SEQUENCE_MODULES)[number];

/** A transaction client (or the client itself, outside a transaction). */
export type Tx = DatabaseTransaction | Database;

const userKey = (module: UserSequenceModule, userId: string) => `seq:${module}:${userId}`;
const GROUP_KEY = "seq:groupSeq";

/**
 * One counter step. Prisma runs this upsert as a single `INSERT ... ON
 * CONFLICT DO UPDATE SET max_value = max_value + 1 RETURNING` (checked in
 * test/domain/sequences.test.ts under concurrency), so the first step of a
 * new counter cannot race into a duplicate key, and the row stays locked
 * until the transaction ends.
 */
async function increment(tx: Tx, appId: number, seqKey: string): Promise<bigint> {
  const row = await tx.sequenceHighWater.upsert({
    where: { appId_seqKey: { appId, seqKey } },
    create: { appId, seqKey, maxValue: 1n },
    update: { maxValue: { increment: 1n } },
  });
  return row.maxValue;
}

/**
 * The next sequence of `module` for the given users (one or two), allocated
 * inside transaction `tx`; every listed user's counter moves to it.
 */
export async function nextUserSequence(
  tx: Tx,
  appId: number,
  module: UserSequenceModule,
  ...userIds: string[]
): Promise<number> {
  const keys = [...new Set(userIds)].map((u) => userKey(module, u)).sort();
  let max = 0n;
  for (const key of keys) {
    const value = await increment(tx, appId, key);
    if (value > max) max = value;
  }
  if (keys.length > 1) {
    await tx.sequenceHighWater.updateMany({
      where: { appId, seqKey: { in: keys } },
      data: { maxValue: max },
    });
  }
  return Number(max);
}

/** The next group sequence of the app (spec §8 groupSeq), inside transaction `tx`. */
export async function nextGroupSequence(tx: Tx, appId: number): Promise<number> {
  return Number(await increment(tx, appId, GROUP_KEY));
}

/** A user's current counter per module, 0 for a module never touched. */
export async function readUserSequences(
  db: Tx,
  appId: number,
  userId: string,
): Promise<Record<UserSequenceModule, number>> {
  const rows = await db.sequenceHighWater.findMany({
    where: { appId, seqKey: { in: USER_SEQUENCE_MODULES.map((m) => userKey(m, userId)) } },
  });
  const byKey = new Map(rows.map((r) => [r.seqKey, Number(r.maxValue)]));
  return Object.fromEntries(
    USER_SEQUENCE_MODULES.map((m) => [m, byKey.get(userKey(m, userId)) ?? 0]),
  ) as Record<UserSequenceModule, number>;
}
