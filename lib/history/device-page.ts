import type { MessageBody } from "../../gen/prisma/client.js";
import { GroupMemberRole } from "../../gen/ts/whaleshark/v1/enums.js";
import type { Database } from "../ports/db.js";

/**
 * The device catch-up query, shared by the roles that own a database handle:
 * the store (HistoryService.SyncDeviceMessages, the gateways' sync commands)
 * and the domain (MessageService.SyncOfflineMessages, spec #48). Both answer
 * from the same message tables, so both answers hold the same messages.
 */

/**
 * One page of a sync (common.proto §4): the rows after the cursor in
 * ascending order, whether nothing follows them, and the highest sequence of
 * the caller's rows (0 when there are none).
 */
export interface MessagePage {
  rows: MessageBody[];
  completed: boolean;
  maxSequence: bigint;
}

/**
 * Everything `userId` may see, P2P and group, after `afterKey` in messageKey
 * order: the offline catch-up of one device (D1). messageKey is the sequence
 * space because it is the one order shared by all conversations (spec §5.10).
 *
 * P2P rows come from the owner's history (primary key app, owner, key).
 * Group rows come per group the user is a member of, each read from the
 * member's join_sequence and cut at `limit + 1` rows before merging
 * (LATERAL), so a page costs O(groups × limit), never the whole backlog.
 *
 * The page's keys and the user's highest key are ONE statement ({@link pageKeys}): every device
 * asks this after every login, and most have nothing new, so that answer is one round trip on one
 * pooled connection (it was four queries in parallel, each holding a connection, which exhausted
 * the pool under a login storm: bench/RESULTS.md finding 3). The bodies are a second read, made
 * only when the page holds messages.
 */
export async function devicePage(
  db: Database,
  q: { appId: number; userId: string; afterKey: bigint; limit: number },
): Promise<MessagePage> {
  const take = q.limit + 1;
  const { keys, maxKey } = await pageKeys(db, { ...q, take });
  const shown = keys.slice(0, q.limit);
  const bodies =
    shown.length === 0 ? [] : await db.messageBody.findMany({ where: { messageKey: { in: shown } } });
  const byKey = new Map(bodies.map((b) => [b.messageKey, b]));
  const rows = shown.flatMap((k) => byKey.get(k) ?? []);
  return { rows, completed: keys.length <= q.limit, maxSequence: maxKey };
}

/** Row kinds of {@link pageKeys}' statement. */
const KEY_ROW = 0;
const MAX_ROW = 1;

/**
 * The first `take` keys after `afterKey` (ascending) and the highest key of all the user may see
 * (0 when none), in one statement: rows of kind 0 are the keys, the one row of kind 1 the max.
 * Indexes: im_message_history's primary key (app, owner, key) for the P2P keys and max;
 * im_group_member (app, member) for the groups, then im_group_message_history's primary key
 * (app, group, key), forwards for the keys and backwards for the max, per group.
 */
async function pageKeys(
  db: Database,
  q: { appId: number; userId: string; afterKey: bigint; take: number },
): Promise<{ keys: bigint[]; maxKey: bigint }> {
  const found = await db.$queryRaw<{ message_key: bigint | number | string | null; kind: number }[]>`
    WITH member AS (
      SELECT m.app_id, m.group_id, m.join_sequence FROM im_group_member m
      WHERE m.app_id = ${q.appId} AND m.member_id = ${q.userId} AND m.role <> ${GroupMemberRole.GROUP_MEMBER_ROLE_LEAVE}
    ), p2p AS (
      SELECT h.message_key FROM im_message_history h
      WHERE h.app_id = ${q.appId} AND h.owner_id = ${q.userId} AND h.message_key > ${q.afterKey}
      ORDER BY h.message_key
      LIMIT ${q.take}
    ), grp AS (
      SELECT k.message_key FROM member m
      CROSS JOIN LATERAL (
        SELECT g.message_key FROM im_group_message_history g
        WHERE g.app_id = m.app_id AND g.group_id = m.group_id
          AND g.sequence > m.join_sequence AND g.message_key > ${q.afterKey}
        ORDER BY g.message_key
        LIMIT ${q.take}
      ) k
    )
    SELECT keys.message_key, ${KEY_ROW}::int AS kind
    FROM (
      SELECT message_key FROM p2p UNION ALL SELECT message_key FROM grp
      ORDER BY message_key
      LIMIT ${q.take}
    ) keys
    UNION ALL
    SELECT GREATEST(
      (SELECT max(h.message_key) FROM im_message_history h
        WHERE h.app_id = ${q.appId} AND h.owner_id = ${q.userId}),
      (SELECT max(k.message_key) FROM member m
        CROSS JOIN LATERAL (
          SELECT g.message_key FROM im_group_message_history g
          WHERE g.app_id = m.app_id AND g.group_id = m.group_id AND g.sequence > m.join_sequence
          ORDER BY g.message_key DESC
          LIMIT 1
        ) k)
    ), ${MAX_ROW}::int`;
  const keys: bigint[] = [];
  let maxKey = 0n;
  for (const row of found) {
    if (row.message_key === null) continue;
    const key = BigInt(row.message_key);
    if (Number(row.kind) === MAX_ROW) maxKey = bigMax(maxKey, key);
    else keys.push(key);
  }
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // One statement reads one snapshot, so the max is never below a key; kept as a cheap guard.
  return { keys, maxKey: keys.reduce((max, k) => bigMax(max, k), maxKey) };
}

/** Math.max for bigints (Math.max rejects them). */
export function bigMax(a: bigint, b: bigint): bigint {
  if (a >= b) return a;
  return b;
}
