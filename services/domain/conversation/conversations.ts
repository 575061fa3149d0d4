import type { ConversationSet } from "../../../gen/prisma/client.js";
import type { Conversation } from "../../../gen/ts/whaleshark/v1/model.js";
import type { Tx } from "../core/sequences.js";

/** `{type}_{owner}_{peerOrGroup}` (spec pitfall 5). */
export function conversationId(type: number, owner: string, to: string): string {
  return `${type}_${owner}_${to}`;
}

/** One conversation of one owner: the parts of its id (conversationId). */
export interface ConversationKey {
  type: number;
  owner: string;
  /** The peer (P2P) or the group (GROUP). */
  to: string;
}

/** A database row as the contract's Conversation (unread_count filled by the caller). */
export function toConversation(row: ConversationSet, unreadCount = 0): Conversation {
  return {
    appId: row.appId,
    conversationId: row.conversationId,
    conversationType: row.conversationType,
    fromId: row.fromId,
    toId: row.toId,
    isMute: row.isMute,
    isTop: row.isTop,
    sequence: Number(row.sequence),
    readSequence: Number(row.readSequence),
    unreadCount,
    delFlag: row.delFlag,
  };
}

/**
 * One page of `owner`'s conversations with a sequence above `after` (exclusive: the original used
 * >=), deleted ones included, in sequence order: at most `take` rows.
 */
export function conversationsAfter(
  db: Tx,
  appId: number,
  owner: string,
  after: bigint,
  take: number,
): Promise<ConversationSet[]> {
  return db.conversationSet.findMany({
    where: { appId, fromId: owner, sequence: { gt: after } },
    orderBy: { sequence: "asc" },
    take,
  });
}

/** The highest sequence of `owner`'s conversations (the caller's own, not the app's), 0 when none. */
export async function maxConversationSequence(db: Tx, appId: number, owner: string): Promise<number> {
  const max = await db.conversationSet.aggregate({
    where: { appId, fromId: owner },
    _max: { sequence: true },
  });
  return Number(max._max.sequence ?? 0);
}
