import type { Logger } from "pino";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { MessageReadPack } from "../../../gen/ts/whaleshark/v1/message.js";
import { ImError } from "../../../lib/errors/index.js";
import { ALL, type PushItem, type PushTarget } from "../../../lib/push/pusher.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { DomainEnv } from "../core/env.js";
import { requireGroup, requireMember } from "../group/groups.js";
import { type ReadReceiptMark, type ReadReceiptRule, Receipts } from "../messaging/receipts.js";
import { loadP2PSendRows } from "../messaging/send-checks.js";
import { ConversationStore } from "./conversation-store.js";

/**
 * A read mark: the fields of MessageReadContent (spec §5.7); the same fields its read receipt is
 * checked on (receipts.ts). toId: P2P the peer, GROUP the original sender to receive the receipt
 * (optional); groupId: GROUP only.
 */
export type ReadMark = ReadReceiptMark;

/**
 * Moves the reader's read cursor (spec §5.7), shared by
 * ConversationService.MarkRead and the gateway's 1106 / 2106; the row's
 * write is ConversationStore.markReadUpTo's (conversation-store.ts).
 *
 * `read_sequence` only moves forward (fixes D14: the original compared
 * against the wrong number and could move it back); a mark at or below it
 * changes nothing, pushes nothing and is no error. A forward move takes a
 * conversation sequence (so the reader's other devices sync it), creates the
 * conversation row when there is none, and pushes 1053 / 2053 to the
 * reader's devices (`readerTarget`: all but the reading one) and 1054 / 2054
 * to every device of `toId` when it is given, is not the reader and
 * `receipts` allows it (messaging/receipts.ts, issue 13: a message with the
 * marked sequence exists between them, P2P rules of sends; otherwise the
 * receipt is silently not pushed, the mark itself stands). `receipts`
 * defaults to the rule with uncached rows and `env.settings`' flags
 * (ConversationService); the messaging core passes its own, cached one.
 * @throws ImError 90001 (bad type, missing peer or group), 40000, 40006
 * @returns whether the cursor moved
 */
export async function markRead(
  env: DomainEnv,
  mark: ReadMark,
  readerTarget: PushTarget,
  log: Logger,
  receipts: ReadReceiptRule = defaultReadReceiptRule(env, log),
): Promise<boolean> {
  const { appId, fromId } = mark;
  const group = mark.conversationType === GROUP;
  if (!group && mark.conversationType !== P2P) {
    throw ImError.of("PARAMETER_ERROR", "conversation_type must be P2P or GROUP");
  }
  const to = group ? mark.groupId : mark.toId;
  if (to.trim() === "")
    throw ImError.of("PARAMETER_ERROR", group ? "group_id is required" : "to_id is required");
  if (mark.messageSequence <= 0) throw ImError.of("PARAMETER_ERROR", "message_sequence must be positive");
  // Plain reads: inside the store's transaction they would hold no lock either (READ COMMITTED).
  if (group) {
    const db = await env.db();
    await requireGroup(db, appId, to);
    await requireMember(db, appId, to, fromId);
  }
  const moved = await new ConversationStore(env).markReadUpTo(
    appId,
    { type: mark.conversationType, owner: fromId, to },
    mark.messageSequence,
  );
  if (!moved) return false;
  const pack = MessageReadPack.toJSON({
    conversationType: mark.conversationType,
    fromId,
    groupId: group ? to : "",
    messageSequence: mark.messageSequence,
    toId: mark.toId,
  });
  const items: PushItem[] = [
    {
      userId: fromId,
      target: readerTarget,
      command: group ? Command.COMMAND_MSG_GROUP_READ_NOTIFY : Command.COMMAND_MSG_READ_NOTIFY,
      data: pack,
    },
  ];
  if (mark.toId !== "" && mark.toId !== fromId && (await receiptAllowed(receipts, mark, log))) {
    const command = group ? Command.COMMAND_MSG_GROUP_READ_RECEIPT : Command.COMMAND_MSG_READ_RECEIPT;
    items.push({ userId: mark.toId, target: ALL, command, data: pack });
  }
  try {
    await env.pusher.pushAll(appId, items);
  } catch (error) {
    // The cursor moved; devices that missed the push catch up through conversation sync.
    log.warn({ err: error }, "read notification not delivered");
  }
  return true;
}

/** Whether the receipt may go out; a failed check (kv or database down) sends none, the mark stands. */
async function receiptAllowed(receipts: ReadReceiptRule, mark: ReadMark, log: Logger): Promise<boolean> {
  try {
    return await receipts.allows(mark);
  } catch (error) {
    log.warn({ err: error }, "read receipt not checked; not sent");
    return false;
  }
}

/** The read-receipt rule of a caller outside messaging: uncached rows, the flags of `env.settings`. */
function defaultReadReceiptRule(env: DomainEnv, log: Logger): ReadReceiptRule {
  return new Receipts({
    kv: env.kv,
    db: env.db,
    changes: env.changes,
    rows: async (appId, fromId, toId) => loadP2PSendRows(await env.db(), appId, fromId, toId),
    flags: {
      checkFriendship: env.settings.checkFriendship ?? true,
      checkBlacklist: env.settings.checkBlacklist ?? true,
    },
    pusher: env.pusher,
    log,
    recordVerdicts: false,
  });
}
