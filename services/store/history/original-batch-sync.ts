import { ConversationType } from "../../../gen/ts/whaleshark/v1/enums.js";
import {
  type BatchSyncMessageRequest,
  type BatchSyncMessageResponse,
  type BatchSyncMessagesRequest,
  type BatchSyncMessagesResponse,
  type ConversationCursor,
  OriginalConversationType,
} from "../../../gen/ts/whaleshark/v1/history_service.js";

/**
 * The original store's numbering of conversation types in /v1/message/batchSyncMessage (spec
 * §5.11, D17: 1 P2P, 2 group) ↔ the contracts' ConversationType (0 P2P, 1 GROUP), for
 * HistoryService.BatchSyncMessage, which runs BatchSyncMessages in between.
 */

/** The contracts' type of an original one; undefined for any other number (skipped, as the original did). */
export function fromOriginalType(type: number): ConversationType | undefined {
  switch (type) {
    case OriginalConversationType.ORIGINAL_CONVERSATION_TYPE_P2P:
      return ConversationType.CONVERSATION_TYPE_P2P;
    case OriginalConversationType.ORIGINAL_CONVERSATION_TYPE_GROUP:
      return ConversationType.CONVERSATION_TYPE_GROUP;
    default:
      return undefined;
  }
}

/** The original's number of a contracts' type BatchSyncMessages answered (P2P or GROUP only). */
export function toOriginalType(type: number): OriginalConversationType {
  switch (type) {
    case ConversationType.CONVERSATION_TYPE_P2P:
      return OriginalConversationType.ORIGINAL_CONVERSATION_TYPE_P2P;
    case ConversationType.CONVERSATION_TYPE_GROUP:
      return OriginalConversationType.ORIGINAL_CONVERSATION_TYPE_GROUP;
    default:
      // BatchSyncMessages answers only the P2P and group conversations it was asked for.
      throw new Error(`BatchSyncMessages answered conversation type ${type}`);
  }
}

/**
 * The request in the contracts' numbering: RequestBase, user and page size as given, the
 * conversations of type 1 (P2P) and 2 (group) in their order, every other one left out.
 */
export function toContractRequest(req: BatchSyncMessageRequest): BatchSyncMessagesRequest {
  const conversations: ConversationCursor[] = [];
  for (const c of req.conversations) {
    const conversationType = fromOriginalType(c.conversationType);
    if (conversationType === undefined) continue;
    conversations.push({ conversationId: c.conversationId, conversationType, sequence: c.sequence });
  }
  return {
    appId: req.appId,
    operater: req.operater,
    clientType: req.clientType,
    imei: req.imei,
    userId: req.userId,
    conversations,
    maxCount: req.maxCount,
  };
}

/** The answer with each conversation's type back in the original's numbering (1 P2P, 2 group). */
export function toOriginalResponse(res: BatchSyncMessagesResponse): BatchSyncMessageResponse {
  return {
    conversationList: res.conversationList.map((c) => ({
      ...c,
      conversationType: toOriginalType(c.conversationType),
    })),
  };
}
