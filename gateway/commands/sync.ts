import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { ConversationType } from "../../gen/ts/whaleshark/v1/enums.js";
import type { HistoryMessage } from "../../gen/ts/whaleshark/v1/model.js";
import {
  SyncConversationAckPack,
  SyncConversationPack,
  SyncedMessage,
  SyncMessagesAckPack,
  SyncMessagesPack,
} from "../../gen/ts/whaleshark/v1/sync.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import type { JsonObject } from "../../lib/wire/index.js";
import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";
import { type ErrorInfo, errorInfo, errorInfoOfCall, sendError } from "./error-frame.js";

/** C→S sync commands the gateway answers from the store's HistoryService (sync.proto). */
export const SYNC_COMMANDS: ReadonlySet<number> = new Set([
  Command.COMMAND_SYNC_MESSAGES,
  Command.COMMAND_SYNC_CONVERSATION,
]);

/**
 * The most message bytes (JSON) one sync answer carries. A page of 100 messages of 5,000
 * characters would not fit the 64 KiB frames clients accept (the original's WebSocket limit,
 * the SDK's default), so a page is cut at this budget and reported not completed; the device
 * asks again from the last message it got. The first message always goes (one fits: body ≤ 5,000
 * characters, extra ≤ 1,000).
 */
export const SYNC_ACK_BUDGET_BYTES = 48 * 1024;

/** A stored message as the sync answers carry it. */
function synced(m: HistoryMessage): SyncedMessage {
  return SyncedMessage.fromPartial({
    appId: m.appId,
    conversationType: m.conversationType,
    extra: m.extra,
    fromId: m.fromId,
    groupId: m.groupId,
    messageBody: m.messageBody,
    messageId: m.messageId,
    messageKey: m.messageKey,
    messageSequence: m.messageSequence,
    messageTime: m.messageTime,
    recalled: m.recalled,
    toId: m.toId,
  });
}

/** The page's messages within {@link SYNC_ACK_BUDGET_BYTES}, and whether all of them fitted. */
function withinBudget(rows: HistoryMessage[]): { messages: SyncedMessage[]; all: boolean } {
  const messages: SyncedMessage[] = [];
  let bytes = 0;
  for (const row of rows) {
    const m = synced(row);
    bytes += Buffer.byteLength(JSON.stringify(SyncedMessage.toJSON(m)));
    if (messages.length > 0 && bytes > SYNC_ACK_BUDGET_BYTES) return { messages, all: false };
    messages.push(m);
  }
  return { messages, all: true };
}

const isCursor = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * SYNC_MESSAGES 9007 and SYNC_CONVERSATION 9009 (sync.proto; docs/architecture.md §4 "Sync").
 * The caller is the connection's login, never the body (D26): the gateway calls the store's
 * HistoryService with the internal secret and `operater` = the logged-in user.
 * - 9007 `{lastMessageKey, maxLimit}` → SyncDeviceMessages → 9008 SyncMessagesAckPack.
 * - 9009 `{conversationType, toId, lastSequence, maxLimit}` → SyncP2PMessages (peer `toId`) or
 *   SyncGroupMessages (group `toId`) → 9010 SyncConversationAckPack.
 * Answers echo the request's cursor. A bad body (negative or non-integer cursor, unknown
 * conversation type, empty toId) answers 9006 / 90001; a store that is down or slow (past
 * `gateway.forwardTimeoutMs`) 9006 / 71000; a refusal by the store its code (e.g. 40006 for a
 * group the user is not in). The connection always stays.
 */
export async function handleSync(
  ctx: GatewayContext,
  conn: Connection,
  command: number,
  body: JsonObject,
): Promise<void> {
  const s = conn.session as SessionRecord;
  const base = { appId: s.appId, operater: s.userId, clientType: s.clientType, imei: s.imei, userId: "" };
  const method = command === Command.COMMAND_SYNC_MESSAGES ? "SyncDeviceMessages" : "SyncConversation";
  let failure: ErrorInfo | undefined;
  try {
    if (command === Command.COMMAND_SYNC_MESSAGES) {
      const req = SyncMessagesPack.fromJSON(body);
      if (!isCursor(req.lastMessageKey) || !isCursor(req.maxLimit)) {
        failure = errorInfo("PARAMETER_ERROR", "lastMessageKey and maxLimit are integers ≥ 0");
      } else {
        const res = await ctx.history.syncDeviceMessages({
          ...base,
          lastSequence: req.lastMessageKey,
          maxLimit: req.maxLimit,
        });
        const page = withinBudget(res.dataList);
        const ack: SyncMessagesAckPack = {
          completed: res.completed && page.all,
          lastMessageKey: req.lastMessageKey,
          maxMessageKey: res.maxSequence,
          messages: page.messages,
        };
        conn.sendData(Command.COMMAND_SYNC_MESSAGES_ACK, SyncMessagesAckPack.toJSON(ack) as object);
      }
    } else {
      const req = SyncConversationPack.fromJSON(body);
      const group = req.conversationType === ConversationType.CONVERSATION_TYPE_GROUP;
      if (!isCursor(req.lastSequence) || !isCursor(req.maxLimit)) {
        failure = errorInfo("PARAMETER_ERROR", "lastSequence and maxLimit are integers ≥ 0");
      } else if (
        req.toId === "" ||
        (!group && req.conversationType !== ConversationType.CONVERSATION_TYPE_P2P)
      ) {
        failure = errorInfo("PARAMETER_ERROR", "toId and a conversationType of 0 or 1 are required");
      } else {
        const window = { ...base, lastSequence: req.lastSequence, maxLimit: req.maxLimit };
        const res = group
          ? await ctx.history.syncGroupMessages({ ...window, groupId: req.toId })
          : await ctx.history.syncP2PMessages({ ...window, toId: req.toId });
        const page = withinBudget(res.dataList);
        const ack: SyncConversationAckPack = {
          completed: res.completed && page.all,
          conversationType: req.conversationType,
          lastSequence: req.lastSequence,
          maxSequence: res.maxSequence,
          messages: page.messages,
          toId: req.toId,
        };
        conn.sendData(Command.COMMAND_SYNC_CONVERSATION_ACK, SyncConversationAckPack.toJSON(ack) as object);
      }
    }
  } catch (error) {
    const info = errorInfoOfCall(error);
    failure = info.code === 71000 ? errorInfo("SERVER_NOT_AVAILABLE", "store unavailable") : info;
    conn.log.debug({ err: error, command, code: failure.code }, "sync call failed");
  }
  if (failure === undefined) {
    ctx.metrics.forwards.inc({ method, outcome: "ok" });
    return;
  }
  ctx.metrics.forwards.inc({ method, outcome: String(failure.code) });
  ctx.metrics.error(failure.code === 90001 ? "body-bad-field" : "forward-failed");
  sendError(conn, failure, command);
}
