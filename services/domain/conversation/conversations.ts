import type { ConversationSet } from "../../../gen/prisma/client.js";
import type { Conversation } from "../../../gen/ts/whaleshark/v1/model.js";
import { nextUserSequence, type Tx } from "../core/sequences.js";

/** `{type}_{owner}_{peerOrGroup}` (spec pitfall 5). */
export function conversationId(type: number, owner: string, to: string): string {
  return `${type}_${owner}_${to}`;
}

/** One conversation to make sure of. */
export interface ConversationKey {
  type: number;
  owner: string;
  /** The peer (P2P) or the group (GROUP). */
  to: string;
}

/**
 * Creates the conversations that do not exist yet, one per owner and peer
 * (fixes D11: the original created one side only and failed on re-adds with
 * a duplicate key). Existing rows, deleted or not, are left as they are.
 * Each new row takes a sequence from its owner's conversation counter
 * (owners in sorted order, the lock order of core/sequences).
 */
export async function ensureConversations(tx: Tx, appId: number, keys: ConversationKey[]): Promise<void> {
  if (keys.length === 0) return;
  const ids = keys.map((k) => conversationId(k.type, k.owner, k.to));
  const existing = new Set(
    (
      await tx.conversationSet.findMany({
        where: { appId, conversationId: { in: ids } },
        select: { conversationId: true },
      })
    ).map((r) => r.conversationId),
  );
  const missing = keys
    .filter((k) => !existing.has(conversationId(k.type, k.owner, k.to)))
    .sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
  const data = [];
  for (const k of missing) {
    const sequence = await nextUserSequence(tx, appId, "conversationSeq", k.owner);
    data.push({
      appId,
      conversationId: conversationId(k.type, k.owner, k.to),
      conversationType: k.type,
      fromId: k.owner,
      toId: k.to,
      sequence: BigInt(sequence),
    });
  }
  if (data.length > 0) await tx.conversationSet.createMany({ data, skipDuplicates: true });
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
