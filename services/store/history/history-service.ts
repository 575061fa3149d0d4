import { ConversationType } from "../../../gen/ts/whaleshark/v1/enums.js";
import type {
  BatchSyncMessageRequest,
  BatchSyncMessageResponse,
  BatchSyncMessagesRequest,
  BatchSyncMessagesResponse,
  ConversationMessages,
  SyncDeviceMessagesRequest,
  SyncDeviceMessagesResponse,
  SyncGroupMessagesRequest,
  SyncGroupMessagesResponse,
  SyncP2PMessagesRequest,
  SyncP2PMessagesResponse,
} from "../../../gen/ts/whaleshark/v1/history_service.js";
import { ImError } from "../../../lib/errors/index.js";
import { devicePage } from "../../../lib/history/device-page.js";
import type { Database } from "../../../lib/ports/db.js";
import { toHistoryMessage } from "./history-message.js";
import { groupExists, groupPage, membership, type Page, p2pPage } from "./history-queries.js";
import { toContractRequest, toOriginalResponse } from "./original-batch-sync.js";
import { cursor, type IsAdmin, pageSize, readerOf } from "./sync-request.js";

/** Most conversations one BatchSyncMessages call may name. */
export const MAX_BATCH_CONVERSATIONS = 500;

/**
 * HistoryService (history_service.proto, spec §5.11): message history and
 * offline sync, every answer built from the stored bodies (fixes D16), paged
 * as common.proto §4 says (exclusive cursor, at most 100 rows, max_sequence
 * over the caller's rows, completed = nothing after the page, empty list
 * rather than null).
 *
 * Group history is visible to members only (role not LEAVE), from the
 * group's messageSequence at their last join on (im_group_member
 * .join_sequence, set by the domain). A user reads only their own history
 * unless the operator is an app admin.
 */
export class HistoryService {
  constructor(
    private readonly db: () => Promise<Database>,
    private readonly isAdmin: IsAdmin,
  ) {}

  /** #49: one P2P conversation in both directions. @throws ImError 90001, 60005 */
  async syncP2PMessages(req: SyncP2PMessagesRequest): Promise<SyncP2PMessagesResponse> {
    const userId = await readerOf(req, this.isAdmin);
    if (req.toId === "") throw ImError.of("PARAMETER_ERROR", "to_id is required (D17)");
    const p = await p2pPage(await this.db(), {
      appId: req.appId,
      ownerId: userId,
      peerId: req.toId,
      after: cursor(req.lastSequence),
      limit: pageSize(req.maxLimit),
    });
    return syncResponse(p);
  }

  /** #50: one group, for a member, from their join point. @throws ImError 40000, 40006, 90001, 60005 */
  async syncGroupMessages(req: SyncGroupMessagesRequest): Promise<SyncGroupMessagesResponse> {
    const userId = await readerOf(req, this.isAdmin);
    if (req.groupId === "") throw ImError.of("PARAMETER_ERROR", "group_id is required");
    const after = cursor(req.lastSequence);
    const limit = pageSize(req.maxLimit);
    const db = await this.db();
    const key = { appId: req.appId, groupId: req.groupId };
    if (!(await groupExists(db, key))) throw ImError.of("GROUP_IS_NOT_EXIST", req.groupId);
    const member = await membership(db, { ...key, memberId: userId });
    if (member === null) throw ImError.of("MEMBER_IS_NOT_JOINED_GROUP", req.groupId);
    return syncResponse(await groupPage(db, { ...key, joinSequence: member.joinSequence, after, limit }));
  }

  /**
   * #51: many conversations, each from its own cursor. A group the user is
   * not in (or that does not exist) answers an empty, completed entry;
   * unknown conversation types are skipped, as in the original.
   * @throws ImError 90001, 60005
   */
  async batchSyncMessages(req: BatchSyncMessagesRequest): Promise<BatchSyncMessagesResponse> {
    const userId = await readerOf(req, this.isAdmin);
    const limit = pageSize(req.maxCount, "max_count");
    if (req.conversations.length > MAX_BATCH_CONVERSATIONS) {
      throw ImError.of("PARAMETER_ERROR", `at most ${MAX_BATCH_CONVERSATIONS} conversations per call`);
    }
    const db = await this.db();
    const conversationList: ConversationMessages[] = [];
    // One conversation after another: bounded load per call, and PGlite has one connection anyway.
    for (const c of req.conversations) {
      const after = cursor(c.sequence, "sequence");
      const entry = (p: Page): ConversationMessages => ({
        conversationId: c.conversationId,
        conversationType: c.conversationType,
        maxSequence: Number(p.maxSequence),
        completed: p.completed,
        messages: p.rows.map(toHistoryMessage),
      });
      if (c.conversationType === ConversationType.CONVERSATION_TYPE_P2P) {
        if (c.conversationId === "") throw ImError.of("PARAMETER_ERROR", "conversation_id is required");
        const p = await p2pPage(db, {
          appId: req.appId,
          ownerId: userId,
          peerId: c.conversationId,
          after,
          limit,
        });
        conversationList.push(entry(p));
      } else if (c.conversationType === ConversationType.CONVERSATION_TYPE_GROUP) {
        const key = { appId: req.appId, groupId: c.conversationId };
        const member = await membership(db, { ...key, memberId: userId });
        const p =
          member === null
            ? { rows: [], completed: true, maxSequence: 0n }
            : await groupPage(db, { ...key, joinSequence: member.joinSequence, after, limit });
        conversationList.push(entry(p));
      }
    }
    return { conversationList };
  }

  /**
   * #51 in the original's numbering (/v1/message/batchSyncMessage: 1 P2P, 2 group, D17):
   * {@link batchSyncMessages} over the P2P and group conversations, each answer echoing its
   * original number; conversations of any other type are skipped without an error, as in the
   * original. The bound on conversations counts them all, skipped ones included.
   * @throws ImError 90001, 60005
   */
  async batchSyncMessage(req: BatchSyncMessageRequest): Promise<BatchSyncMessageResponse> {
    if (req.conversations.length > MAX_BATCH_CONVERSATIONS) {
      throw ImError.of("PARAMETER_ERROR", `at most ${MAX_BATCH_CONVERSATIONS} conversations per call`);
    }
    return toOriginalResponse(await this.batchSyncMessages(toContractRequest(req)));
  }

  /**
   * Offline catch-up of the calling device across all its user's
   * conversations, by messageKey (D1). The device keeps its own cursor
   * (last_sequence = the last messageKey it holds), so no per-device state
   * lives on the server.
   * @throws ImError 90001
   */
  async syncDeviceMessages(req: SyncDeviceMessagesRequest): Promise<SyncDeviceMessagesResponse> {
    const userId = await readerOf(req, this.isAdmin);
    const p = await devicePage(await this.db(), {
      appId: req.appId,
      userId,
      afterKey: cursor(req.lastSequence),
      limit: pageSize(req.maxLimit),
    });
    return syncResponse(p);
  }
}

function syncResponse(p: Page) {
  return {
    maxSequence: Number(p.maxSequence),
    completed: p.completed,
    dataList: p.rows.map(toHistoryMessage),
  };
}
