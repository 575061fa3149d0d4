import type { Logger } from "pino";
import type { MessageBody } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { RecallMessageNotifyPack } from "../../../gen/ts/whaleshark/v1/message.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Database } from "../../../lib/ports/db.js";
import { ALL, exceptCaller, type Pusher } from "../../../lib/push/pusher.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { fromBodyRow, type SenderDevice } from "./chat-message.js";
import type { GroupMembers } from "./group-members.js";
import type { SendDedupe } from "./send-dedupe.js";

/** A recall: 1050 from a device, or MessageService.RecallMessage. */
export interface RecallInput {
  appId: number;
  /** Who asks: the session's user or the checked operator. */
  operator: string;
  /** Whether the operator is an app admin (may recall anything, any time). */
  isAdmin(): Promise<boolean>;
  /** The calling device; imei "" = none. */
  device: SenderDevice;
  /** The message's sender as the caller names it; "" = not named. */
  fromId: string;
  /** The peer or group as the caller names it; "" = not named. */
  toId: string;
  messageKey: number;
}

/** What {@link recallMessage} works with. */
export interface RecallDeps {
  db(): Promise<Database>;
  pusher: Pusher;
  /** The process's group member cache (shared with fan-out). */
  members: GroupMembers;
  dedupe: SendDedupe;
  now(): number;
  /** config `messaging.recallWindowMs`. */
  windowMs: number;
  log: Logger;
  /** How long to wait for a just-sent message to reach the database (default 1 s). */
  storeWaitMs?: number;
}

/**
 * Recalls a message (1050–1052 and 50004/50005 were stubs in the original,
 * D33). The stored body is found by messageKey; the caller's from_id and
 * to_id, when given, must name it (else 50006, like a missing message). Its
 * sender may recall within `windowMs` of the server's acceptance (the
 * client's messageTime is not trusted for this), an app admin at any time;
 * anyone else gets 40014, a late sender 50004, a second recall 50005 (also
 * when two race: the update is conditional). The body is emptied and marked
 * recalled, so history and sync show it as recalled, and the kv dedupe
 * entry says so, so a retry of the original send cannot push the text
 * again. Then 1052 goes to every device of both P2P users, or of every
 * current group member, except the calling device (which gets 1051 from its
 * gateway). A message the store has not written yet is waited for briefly.
 * @throws ImError 90001, 50006, 40014, 50005, 50004
 */
export async function recallMessage(deps: RecallDeps, input: RecallInput): Promise<{ messageKey: number }> {
  if (!Number.isSafeInteger(input.messageKey) || input.messageKey <= 0) {
    throw ImError.of("PARAMETER_ERROR", "message_key is required");
  }
  const db = await deps.db();
  const row = await findStored(db, input.appId, input.messageKey, deps.storeWaitMs ?? 1000);
  if (
    row === null ||
    (input.fromId !== "" && row.fromId !== input.fromId) ||
    (input.toId !== "" && row.toId !== input.toId)
  ) {
    throw ImError.of("MESSAGEBODY_IS_NOT_EXIST", String(input.messageKey));
  }
  const admin = await input.isAdmin();
  if (!admin && row.fromId !== input.operator) throw ImError.of("THIS_OPERATE_NEED_ONESELF");
  if (row.recalled) throw ImError.of("MESSAGE_IS_RECALLED");
  const now = deps.now();
  if (!admin && now - Number(row.createTime) > deps.windowMs) throw ImError.of("MESSAGE_RECALL_TIME_OUT");
  const updated = await db.messageBody.updateMany({
    where: { messageKey: row.messageKey, recalled: false },
    data: { recalled: true, recallTime: BigInt(now), messageBody: "" },
  });
  if (updated.count === 0) throw ImError.of("MESSAGE_IS_RECALLED");
  // kv keeps answering retries of the original send, now with the recalled message (a missing
  // entry could be taken for a new send, send-dedupe.ts).
  await deps.dedupe
    .remember({ ...fromBodyRow(row), messageBody: "", recalled: true })
    .catch((error: unknown) => {
      deps.log.warn({ err: error }, "recalled message still cached for retries");
    });

  const pack = RecallMessageNotifyPack.toJSON({
    conversationType: row.conversationType,
    fromId: row.fromId,
    messageKey: input.messageKey,
    messageSequence: Number(row.messageSequence),
    toId: row.toId,
  });
  const users =
    row.conversationType === GROUP
      ? [row.fromId, ...(await deps.members.idsOf(row.appId, row.toId))]
      : [row.fromId, row.toId];
  try {
    await deps.pusher.pushAll(
      row.appId,
      [...new Set(users)].map((userId) => ({
        userId,
        target: userId === input.operator ? exceptCaller(input.device) : ALL,
        command: Command.COMMAND_MSG_RECALL_NOTIFY,
        data: pack,
      })),
    );
  } catch (error) {
    deps.log.warn({ err: error }, "recall notification not delivered");
  }
  return { messageKey: input.messageKey };
}

/** The stored body, waiting up to `waitMs` for one the store is about to write. */
async function findStored(
  db: Database,
  appId: number,
  key: number,
  waitMs: number,
): Promise<MessageBody | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const row = await db.messageBody.findFirst({ where: { messageKey: BigInt(key), appId } });
    if (row !== null || Date.now() >= deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
