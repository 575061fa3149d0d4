import type { Friendship as FriendshipRow } from "../../../gen/prisma/client.js";
import { CheckFriendshipType } from "../../../gen/ts/whaleshark/v1/enums.js";
import type { CheckResult } from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import type { Friendship } from "../../../gen/ts/whaleshark/v1/model.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Tx } from "../core/sequences.js";

/** FriendshipStatus (spec §10.2). */
export const FRIEND = { NO_FRIEND: 0, NORMAL: 1, DELETE: 2 } as const;
/** BlackStatus (spec §10.2). */
export const BLACK = { NORMAL: 1, BLACKED: 2 } as const;

/** A database row as the contract's Friendship. */
export function toFriendship(row: FriendshipRow): Friendship {
  return {
    appId: row.appId,
    fromId: row.fromId,
    toId: row.toId,
    remark: row.remark ?? "",
    status: row.status,
    black: row.black,
    createTime: Number(row.createTime ?? 0n),
    friendSequence: Number(row.friendSequence),
    blackSequence: Number(row.blackSequence),
    addSource: row.addSource ?? "",
    extra: row.extra ?? "",
  };
}

/** The from → to row, or null. */
export function findRelation(
  db: Tx,
  appId: number,
  fromId: string,
  toId: string,
): Promise<FriendshipRow | null> {
  return db.friendship.findUnique({ where: { appId_fromId_toId: { appId, fromId, toId } } });
}

/**
 * Refuses a friendship or request across a blacklist: 30006 when `fromId`
 * blacked `toId`, 30007 when `toId` blacked `fromId`.
 */
export async function checkNotBlacked(tx: Tx, appId: number, fromId: string, toId: string): Promise<void> {
  if ((await findRelation(tx, appId, fromId, toId))?.black === BLACK.BLACKED) {
    throw ImError.of("FRIEND_IS_BLACK");
  }
  if ((await findRelation(tx, appId, toId, fromId))?.black === BLACK.BLACKED) {
    throw ImError.of("TARGET_IS_BLACK_YOU");
  }
}

/** The P2P conversation id of `owner` with `peer` (spec pitfall 5: `0_{owner}_{peer}`). */
export function p2pConversationId(owner: string, peer: string): string {
  return `0_${owner}_${peer}`;
}

/**
 * The answer of a BOTH check (spec §6.3 #15/#18, D9 fixed): 1 both ways,
 * 2 only from → to, 3 only to → from, 4 neither.
 */
export function bothStatus(forward: boolean, backward: boolean): number {
  if (forward && backward) return 1;
  if (forward) return 2;
  return backward ? 3 : 4;
}

/** CheckFriend / CheckBlack: one result per to_id, in order, `holds` deciding each direction. */
export async function checkRelations(
  db: Tx,
  appId: number,
  fromId: string,
  toIds: string[],
  type: CheckFriendshipType,
  holds: (row: { status: number; black: number } | undefined) => boolean,
): Promise<CheckResult[]> {
  if (
    type !== CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_SINGLE &&
    type !== CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_BOTH
  ) {
    throw ImError.of("PARAMETER_ERROR", "check_type must be SINGLE or BOTH");
  }
  const rows = await db.friendship.findMany({
    where: {
      appId,
      OR: [
        { fromId, toId: { in: toIds } },
        { toId: fromId, fromId: { in: toIds } },
      ],
    },
  });
  const forward = new Map(rows.filter((r) => r.fromId === fromId).map((r) => [r.toId, r]));
  const backward = new Map(rows.filter((r) => r.toId === fromId).map((r) => [r.fromId, r]));
  return toIds.map((toId) => ({
    fromId,
    toId,
    status:
      type === CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_SINGLE
        ? Number(holds(forward.get(toId)))
        : bothStatus(holds(forward.get(toId)), holds(backward.get(toId))),
  }));
}
