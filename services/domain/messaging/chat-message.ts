import type { MessageBody as BodyRow } from "../../../gen/prisma/client.js";
import type { GroupChatMessageContent, MessageContent } from "../../../gen/ts/whaleshark/v1/message.js";
import { type ChatConversationType, GROUP, P2P } from "../../../lib/wire/conversation-type.js";

/**
 * A chat message the domain accepted: what it stores (store_job.proto),
 * remembers for retries (the dedupe cache) and pushes. One shape for P2P and
 * group messages; `toId` is the receiver or the group id, as the
 * `im_message_body.to_id` column.
 */
export interface ChatMessage {
  conversationType: ChatConversationType;
  appId: number;
  fromId: string;
  toId: string;
  /** The sender's idempotency id (D28: required). */
  messageId: string;
  messageBody: string;
  /** Client send time, epoch ms. */
  messageTime: number;
  extra: string;
  /** Snowflake id (spec §5.10), set before any fan-out (D28). */
  messageKey: number;
  /** The pair's or the group's sequence. */
  messageSequence: number;
  /** When the domain accepted it, epoch ms (create_time of the stored rows; the recall window's start). */
  acceptedTime: number;
  /** Recalled since: retries then answer without pushing the message again. */
  recalled?: boolean;
}

/** The device a message was sent from; imei "" = no device (a back-office API call). */
export interface SenderDevice {
  clientType: number;
  imei: string;
}

/** The 1103 payload (spec §5.3: the client's content with messageKey and messageSequence filled in). */
export function toMessageContent(m: ChatMessage, device: SenderDevice): MessageContent {
  return {
    appId: m.appId,
    clientType: device.clientType,
    extra: m.extra,
    fromId: m.fromId,
    imei: device.imei,
    messageBody: m.messageBody,
    messageId: m.messageId,
    messageKey: m.messageKey,
    messageSequence: m.messageSequence,
    messageTime: m.messageTime,
    toId: m.toId,
  };
}

/**
 * The 2104 payload (spec §5.4). Pushes to devices leave `memberIds` empty (so
 * `toJSON` leaves the key out; the store jobs pass none either): this fixes a
 * defect of the original, which put every member id of the group into every
 * push to every member. That list is the server's fan-out bookkeeping,
 * useless to clients, and heavy: 149 KB per frame in a 10 000-member group,
 * over the 64 KiB frame limit of the SDK and the wire codec, so no member
 * received anything (bench/RESULTS.md finding 1), and 1 000 online members ×
 * 149 KB per message through the bus and the gateways. Clients learn a
 * group's members from GroupMemberService. (`memberIds` stays a parameter
 * only for callers that still pass an empty list.)
 */
export function toGroupContent(
  m: ChatMessage,
  device: SenderDevice,
  memberIds: string[] = [],
): GroupChatMessageContent {
  return {
    appId: m.appId,
    clientType: device.clientType,
    extra: m.extra,
    fromId: m.fromId,
    groupId: m.toId,
    imei: device.imei,
    memberIds,
    messageBody: m.messageBody,
    messageId: m.messageId,
    messageKey: m.messageKey,
    messageSequence: m.messageSequence,
    messageTime: m.messageTime,
    toId: "",
  };
}

/** A stored body as the message it was accepted as. */
export function fromBodyRow(row: BodyRow): ChatMessage {
  return {
    conversationType: row.conversationType === GROUP ? GROUP : P2P,
    appId: row.appId,
    fromId: row.fromId,
    toId: row.toId,
    messageId: row.messageId,
    messageBody: row.messageBody,
    messageTime: Number(row.messageTime),
    extra: row.extra ?? "",
    messageKey: Number(row.messageKey),
    messageSequence: Number(row.messageSequence),
    acceptedTime: Number(row.createTime),
    recalled: row.recalled,
  };
}
