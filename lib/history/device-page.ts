import type { MessageBody } from "../../gen/prisma/client.js";
import type { Database } from "../ports/db.js";

/**
 * The device catch-up query, shared by the roles that own a database handle:
 * the store (HistoryService.SyncDeviceMessages, the gateways' sync commands)
 * and the domain (MessageService.SyncOfflineMessages, spec #48). Both answer
 * from the same message tables, so both answers hold the same messages.
 */

/** GroupMemberRole LEAVE: a member who left sees nothing (D31: the code's value). */
export const ROLE_LEAVE = 3;

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
 */
export async function devicePage(
  db: Database,
  q: { appId: number; userId: string; afterKey: bigint; limit: number },
): Promise<MessagePage> {
  const take = q.limit + 1;
  const [p2p, group, p2pMax, groupMax] = await Promise.all([
    db.messageHistory.findMany({
      where: { appId: q.appId, ownerId: q.userId, messageKey: { gt: q.afterKey } },
      orderBy: { messageKey: "asc" },
      take,
      select: { messageKey: true },
    }),
    db.$queryRaw<{ message_key: bigint }[]>`
      SELECT k.message_key
      FROM im_group_member m
      CROSS JOIN LATERAL (
        SELECT g.message_key FROM im_group_message_history g
        WHERE g.app_id = m.app_id AND g.group_id = m.group_id
          AND g.sequence > m.join_sequence AND g.message_key > ${q.afterKey}
        ORDER BY g.message_key
        LIMIT ${take}
      ) k
      WHERE m.app_id = ${q.appId} AND m.member_id = ${q.userId} AND m.role <> ${ROLE_LEAVE}
      ORDER BY k.message_key
      LIMIT ${take}`,
    db.messageHistory.aggregate({ where: { appId: q.appId, ownerId: q.userId }, _max: { messageKey: true } }),
    db.$queryRaw<{ max_key: bigint | null }[]>`
      SELECT max(k.message_key) AS max_key
      FROM im_group_member m
      CROSS JOIN LATERAL (
        SELECT g.message_key FROM im_group_message_history g
        WHERE g.app_id = m.app_id AND g.group_id = m.group_id AND g.sequence > m.join_sequence
        ORDER BY g.message_key DESC
        LIMIT 1
      ) k
      WHERE m.app_id = ${q.appId} AND m.member_id = ${q.userId} AND m.role <> ${ROLE_LEAVE}`,
  ]);
  const keys = [...p2p.map((r) => r.messageKey), ...group.map((r) => BigInt(r.message_key))]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, take);
  const shown = keys.slice(0, q.limit);
  const bodies =
    shown.length === 0 ? [] : await db.messageBody.findMany({ where: { messageKey: { in: shown } } });
  const byKey = new Map(bodies.map((b) => [b.messageKey, b]));
  const rows = shown.flatMap((k) => byKey.get(k) ?? []);
  const maxP2p = p2pMax._max.messageKey ?? 0n;
  const maxGroup = groupMax[0]?.max_key == null ? 0n : BigInt(groupMax[0].max_key);
  // The max is read beside the keys; a batch committed in between must not leave it below them.
  const maxKey = keys.reduce((max, k) => bigMax(max, k), bigMax(maxP2p, maxGroup));
  return { rows, completed: keys.length <= q.limit, maxSequence: maxKey };
}

/** Math.max for bigints (Math.max rejects them). */
export function bigMax(a: bigint, b: bigint): bigint {
  if (a >= b) return a;
  return b;
}
