import type { MessageBody } from "../../../gen/prisma/client.js";
import { GroupMemberRole } from "../../../gen/ts/whaleshark/v1/enums.js";
import { bigMax, type MessagePage } from "../../../lib/history/device-page.js";
import type { Database } from "../../../lib/ports/db.js";

/** One page of a sync (common.proto §4); see {@link MessagePage}. */
export type Page = MessagePage;

/**
 * One P2P conversation of `ownerId` with `peerId`, both directions (fixes
 * D16: the receiver's rows have the peer as sender), by the pair's
 * messageSequence. Reads the owner's history rows (index app, owner, peer,
 * sequence) joined with their bodies.
 */
export async function p2pPage(
  db: Database,
  q: { appId: number; ownerId: string; peerId: string; after: bigint; limit: number },
): Promise<Page> {
  const where = { appId: q.appId, ownerId: q.ownerId, peerId: q.peerId };
  const [rows, max] = await Promise.all([
    db.messageHistory.findMany({
      where: { ...where, sequence: { gt: q.after } },
      orderBy: [{ sequence: "asc" }, { messageKey: "asc" }],
      take: q.limit + 1,
      include: { body: true },
    }),
    db.messageHistory.aggregate({ where, _max: { sequence: true } }),
  ]);
  return page(
    rows.map((r) => r.body),
    q.limit,
    max._max.sequence ?? 0n,
  );
}

/** A member's visibility in one group, or null when they are not (or no longer) a member. */
export async function membership(
  db: Database,
  q: { appId: number; groupId: string; memberId: string },
): Promise<{ joinSequence: bigint } | null> {
  const m = await db.groupMember.findUnique({
    where: { appId_groupId_memberId: q },
    select: { role: true, joinSequence: true },
  });
  return m === null || m.role === GroupMemberRole.GROUP_MEMBER_ROLE_LEAVE
    ? null
    : { joinSequence: m.joinSequence };
}

/** Whether the group exists (destroyed groups too: their members keep their history). */
export async function groupExists(db: Database, q: { appId: number; groupId: string }): Promise<boolean> {
  return (await db.group.count({ where: { appId: q.appId, groupId: q.groupId } })) > 0;
}

/**
 * One group's messages by the group's messageSequence, for a member who sees
 * those after `joinSequence` only (schema: im_group_member.join_sequence).
 */
export async function groupPage(
  db: Database,
  q: { appId: number; groupId: string; joinSequence: bigint; after: bigint; limit: number },
): Promise<Page> {
  const floor = bigMax(q.after, q.joinSequence);
  const visible = { appId: q.appId, groupId: q.groupId, sequence: { gt: q.joinSequence } };
  const [rows, max] = await Promise.all([
    db.groupMessageHistory.findMany({
      where: { appId: q.appId, groupId: q.groupId, sequence: { gt: floor } },
      orderBy: [{ sequence: "asc" }, { messageKey: "asc" }],
      take: q.limit + 1,
      include: { body: true },
    }),
    db.groupMessageHistory.aggregate({ where: visible, _max: { sequence: true } }),
  ]);
  return page(
    rows.map((r) => r.body),
    q.limit,
    max._max.sequence ?? 0n,
  );
}

/**
 * The rows and the max are two reads, so a batch the store commits between them can give rows
 * above the max read first; the answer never reports a max below a row it returns.
 */
function page(rows: MessageBody[], limit: number, maxSequence: bigint): Page {
  const highest = rows.reduce((max, r) => bigMax(max, r.messageSequence), maxSequence);
  return { rows: rows.slice(0, limit), completed: rows.length <= limit, maxSequence: highest };
}
