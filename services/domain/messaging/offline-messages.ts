import type { MessageBody } from "../../../gen/prisma/client.js";
import type { OfflineMessageContent } from "../../../gen/ts/whaleshark/v1/message.js";
import type { SyncOfflineMessagesResponse } from "../../../gen/ts/whaleshark/v1/message_service.js";
import { devicePage } from "../../../lib/history/device-page.js";
import type { Database } from "../../../lib/ports/db.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import { conversationId } from "../conversation/conversations.js";
import { pageSize } from "../core/guards.js";

/** A DelFlag value: 1 marks a recalled message (its body is empty). */
const DELETED = 1;

/** One stored message as the original's offline record of `owner` (spec §5.8). */
export function toOfflineMessage(owner: string, b: MessageBody): OfflineMessageContent {
  const group = b.conversationType === GROUP;
  const peer = b.fromId === owner ? b.toId : b.fromId;
  return {
    appId: b.appId,
    conversationId: conversationId(group ? GROUP : P2P, owner, group ? b.toId : peer),
    conversationType: b.conversationType,
    delFlag: b.recalled ? DELETED : b.delFlag,
    extra: b.extra ?? "",
    fromId: b.fromId,
    messageBody: b.recalled ? "" : b.messageBody,
    messageKey: Number(b.messageKey),
    messageSequence: Number(b.messageSequence),
    messageTime: Number(b.messageTime),
    toId: b.toId,
  };
}

/**
 * MessageService.SyncOfflineMessages (#48, fixes D1: the original read a key
 * nobody wrote and repeated the last item): everything `userId` may see, P2P
 * and group, after `lastSequence` (a messageKey, exclusive) in messageKey
 * order, min(max_limit, 100) a page. The same query as the store's
 * HistoryService.SyncDeviceMessages (lib/history/device-page.ts), so nothing
 * is capped or dropped; each message is shaped as the original's
 * OfflineMessageContent of the user's own queue (conversation id
 * `{type}_{userId}_{peerOrGroup}`, del_flag 1 once recalled).
 */
export async function offlineMessages(
  db: Database,
  q: { appId: number; userId: string; lastSequence: number; maxLimit: number },
): Promise<SyncOfflineMessagesResponse> {
  const page = await devicePage(db, {
    appId: q.appId,
    userId: q.userId,
    afterKey: BigInt(Math.max(0, Math.trunc(q.lastSequence))),
    limit: pageSize(q.maxLimit),
  });
  return {
    maxSequence: Number(page.maxSequence),
    completed: page.completed,
    dataList: page.rows.map((b) => toOfflineMessage(q.userId, b)),
  };
}
