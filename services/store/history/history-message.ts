import type { MessageBody } from "../../../gen/prisma/client.js";
import type { HistoryMessage } from "../../../gen/ts/whaleshark/v1/model.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";

/**
 * A stored message as the history APIs return it (model.proto HistoryMessage,
 * fixes D16: with its body). Recalled messages keep their place in the
 * stream, flagged and without text (common.proto §4: deleted rows stay with
 * their marker). int64 values are below 2^53 (spec §5.10), so numbers are exact.
 */
export function toHistoryMessage(b: MessageBody): HistoryMessage {
  const group = b.conversationType === GROUP;
  return {
    appId: b.appId,
    conversationType: b.conversationType,
    messageKey: Number(b.messageKey),
    messageId: b.messageId,
    fromId: b.fromId,
    toId: group ? "" : b.toId,
    groupId: group ? b.toId : "",
    messageSequence: Number(b.messageSequence),
    messageBody: b.recalled ? "" : b.messageBody,
    messageTime: Number(b.messageTime),
    extra: b.extra ?? "",
    recalled: b.recalled,
  };
}
