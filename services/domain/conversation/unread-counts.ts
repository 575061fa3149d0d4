import { Prisma } from "../../../gen/prisma/client.js";
import { GroupMemberRole } from "../../../gen/ts/whaleshark/v1/enums.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { Tx } from "../core/sequences.js";

/** The conversation fields the count needs (im_conversation_set). */
export interface UnreadKey {
  conversationId: string;
}

/**
 * Unread messages of each conversation of one page (conversation_service.proto
 * #44, issue 6 item 4), keyed by conversation id: the messages with a
 * messageSequence above the owner's read_sequence that the owner did not send.
 * - P2P: the owner's history rows with that peer (index app, owner, peer,
 *   sequence), so messages the owner sent from any device never count.
 * - GROUP: the group's history from the later of read_sequence and the
 *   owner's join_sequence (what HistoryService shows them); 0 for someone
 *   who left or is not a member, who sees nothing new there.
 * One query for the whole page, however many rows it has (a count per row
 * would be a round trip per conversation). Recalled messages still count:
 * they keep their place in the stream (common.proto §4).
 */
export async function unreadCounts(db: Tx, appId: number, rows: UnreadKey[]): Promise<Map<string, number>> {
  if (rows.length === 0) return new Map();
  const ids = Prisma.join(rows.map((r) => r.conversationId));
  const counts = await db.$queryRaw<{ conversation_id: string; unread: bigint | number }[]>`
    SELECT c.conversation_id,
      CASE
        WHEN c.conversation_type = ${P2P} THEN (
          SELECT count(*) FROM im_message_history h
          WHERE h.app_id = c.app_id AND h.owner_id = c.from_id AND h.peer_id = c.to_id
            AND h.sequence > c.read_sequence AND h.from_id <> c.from_id)
        WHEN c.conversation_type = ${GROUP} AND m.role <> ${GroupMemberRole.GROUP_MEMBER_ROLE_LEAVE} THEN (
          SELECT count(*) FROM im_group_message_history g
          WHERE g.app_id = c.app_id AND g.group_id = c.to_id
            AND g.sequence > GREATEST(c.read_sequence, m.join_sequence) AND g.from_id <> c.from_id)
        ELSE 0
      END AS unread
    FROM im_conversation_set c
    LEFT JOIN im_group_member m
      ON m.app_id = c.app_id AND m.group_id = c.to_id AND m.member_id = c.from_id
    WHERE c.app_id = ${appId} AND c.conversation_id IN (${ids})`;
  return new Map(counts.map((r) => [r.conversation_id, Number(r.unread)]));
}
