import type { Friendship, Group, GroupMember, UserData } from "../../../gen/prisma/client.js";
import { ImError } from "../../../lib/errors/index.js";
import { longerThan, textFault } from "../../../lib/grpc/text-check.js";
import type { Database } from "../../../lib/ports/db.js";
import { P2P } from "../../../lib/wire/conversation-type.js";
import { BLACK, FRIEND } from "../friendship/friendships.js";
import { GROUP_STATUS, PRIVATE_CHAT, ROLE } from "../group/groups.js";
import type { ChatMessage } from "./chat-message.js";
import { MESSAGE_LIMITS } from "./settings.js";

/**
 * May this message be sent, and may this user send it now? The fields first
 * ({@link checkSendFields}: what the store could not write), then the
 * original's gateway-side checks (spec §5.3 step 1, §5.4 step 1,
 * `p2pCheckSend` / `groupCheckSend`), run by the domain itself inside the
 * send (docs/architecture.md §2 step 2) and by MessageService.CheckSend. Each failure
 * throws its catalogue error.
 */

/** The fields of a send that are stored as given (im_message_body and the history rows). */
export type SendFields = Pick<
  ChatMessage,
  "conversationType" | "fromId" | "toId" | "messageId" | "messageBody" | "messageTime" | "extra"
>;

/**
 * Every value of a send the store would refuse or alter, refused before
 * anything is read, claimed or ACKed (issue 13): the store writes after the
 * ACK, so a row it cannot write was an ACKed message dead-lettered. Required
 * ids, no NUL or unpaired surrogate (lib/grpc/text-check.ts; the gRPC edge
 * checks that too, this covers every caller of the pipeline), at most the
 * column's characters (schema.prisma MessageBody, counted as PostgreSQL
 * counts them), and a message_time that fits BIGINT and is not negative.
 * @throws ImError 90001 naming the first bad field
 */
export function checkSendFields(input: SendFields): void {
  const target = input.conversationType === P2P ? "to_id" : "group_id";
  checkField("message_id", input.messageId, MESSAGE_LIMITS.messageId, true);
  checkField("from_id", input.fromId, MESSAGE_LIMITS.id, true);
  checkField(target, input.toId, MESSAGE_LIMITS.id, true);
  checkField("message_body", input.messageBody, MESSAGE_LIMITS.body, false);
  checkField("extra", input.extra, MESSAGE_LIMITS.extra, false);
  if (!Number.isSafeInteger(input.messageTime) || input.messageTime < 0) {
    throw ImError.of("PARAMETER_ERROR", "message_time must be epoch milliseconds");
  }
}

/** One string field of {@link checkSendFields}. @throws ImError 90001 */
function checkField(field: string, value: string, max: number, required: boolean): void {
  if (required && value.trim() === "") throw ImError.of("PARAMETER_ERROR", `${field} is required`);
  const fault = textFault(value);
  if (fault !== undefined) throw ImError.of("PARAMETER_ERROR", `${field} ${fault}`);
  if (longerThan(value, max)) {
    throw ImError.of("PARAMETER_ERROR", `${field} is longer than ${max} characters`);
  }
}

/** Which P2P relationship checks run (config `messaging`). */
export interface P2PCheckFlags {
  checkFriendship: boolean;
  checkBlacklist: boolean;
}

/** The sender's own state (spec §5.3 a). @throws ImError 20001, 50003, 50002 */
function checkSenderRow(user: UserData | undefined, fromId: string): void {
  if (user === undefined) throw ImError.of("USER_IS_NOT_EXIST", fromId);
  if (user.forbiddenFlag === 1) throw ImError.of("FROMER_IS_FORBIBBEN");
  if (user.silentFlag === 1) throw ImError.of("FROMER_IS_MUTE");
}

/** The rows a P2P send is checked against (spec §5.3). */
export interface P2PSendRows {
  /** The live (not deleted) user rows among sender and receiver. */
  users: UserData[];
  /** The friendship rows sender → receiver and receiver → sender that exist. */
  friendships: Friendship[];
}

/** The rows a group send is checked against (spec §5.4). */
export interface GroupSendRows {
  sender: UserData | null;
  group: Group | null;
  /** The sender's member row, also when it left (role LEAVE). */
  member: GroupMember | null;
}

/** Reads the rows of a P2P check: two queries. */
export async function loadP2PSendRows(
  db: Database,
  appId: number,
  fromId: string,
  toId: string,
): Promise<P2PSendRows> {
  const users = await db.userData.findMany({ where: { appId, userId: { in: [fromId, toId] }, delFlag: 0 } });
  const friendships =
    fromId === toId
      ? []
      : await db.friendship.findMany({
          where: {
            appId,
            OR: [
              { fromId, toId },
              { fromId: toId, toId: fromId },
            ],
          },
        });
  return { users, friendships };
}

/** Reads the rows of a group check: three queries. */
export async function loadGroupSendRows(
  db: Database,
  appId: number,
  fromId: string,
  groupId: string,
): Promise<GroupSendRows> {
  const [sender, group, member] = await Promise.all([
    db.userData.findFirst({ where: { appId, userId: fromId, delFlag: 0 } }),
    db.group.findUnique({ where: { appId_groupId: { appId, groupId } } }),
    db.groupMember.findUnique({ where: { appId_groupId_memberId: { appId, groupId, memberId: fromId } } }),
  ]);
  return { sender, group, member };
}

/**
 * P2P (spec §5.3): the sender exists and may speak; the receiver exists
 * (a message to nobody would be stored for nobody); unless it is self-chat
 * (allowed, D35), a friendship both ways when `checkFriendship` (a row
 * that is missing or was never a friendship: 30008; deleted by the sender
 * 30004, by the receiver 30005) and no blacklist either way when
 * `checkBlacklist` (30006 the sender's, 30007 the receiver's).
 * @throws ImError 20001, 50003, 50002, 30008, 30004, 30005, 30006, 30007
 */
export function checkP2PSend(rows: P2PSendRows, fromId: string, toId: string, flags: P2PCheckFlags): void {
  checkSenderRow(
    rows.users.find((u) => u.userId === fromId),
    fromId,
  );
  checkP2PRelationship(rows, fromId, toId, flags);
}

/**
 * The relationship part of {@link checkP2PSend}, without the sender's own
 * flags (forbidden, silent): both users exist, and the friendship and
 * blacklist rules. Receipts (1107, 1054) follow exactly this rule
 * (receipts.ts); it is symmetric, so it answers for both directions.
 * @throws ImError 20001, 30008, 30004, 30005, 30006, 30007
 */
export function checkP2PRelationship(
  rows: P2PSendRows,
  fromId: string,
  toId: string,
  flags: P2PCheckFlags,
): void {
  const { users } = rows;
  if (!users.some((u) => u.userId === fromId)) throw ImError.of("USER_IS_NOT_EXIST", fromId);
  if (!users.some((u) => u.userId === toId)) throw ImError.of("USER_IS_NOT_EXIST", toId);
  if (fromId === toId || !(flags.checkFriendship || flags.checkBlacklist)) return;
  const forward = rows.friendships.find((r) => r.fromId === fromId && r.toId === toId);
  const backward = rows.friendships.find((r) => r.fromId === toId && r.toId === fromId);
  if (flags.checkFriendship) {
    if (forward === undefined || forward.status === FRIEND.NO_FRIEND)
      throw ImError.of("REPEATSHIP_IS_NOT_EXIST");
    if (backward === undefined || backward.status === FRIEND.NO_FRIEND) {
      throw ImError.of("REPEATSHIP_IS_NOT_EXIST");
    }
    if (forward.status === FRIEND.DELETE) throw ImError.of("FRIEND_IS_DELETED");
    if (backward.status === FRIEND.DELETE) throw ImError.of("FRIEND_IS_DELETED_YOU");
  }
  if (flags.checkBlacklist) {
    if (forward?.black === BLACK.BLACKED) throw ImError.of("FRIEND_IS_BLACK");
    if (backward?.black === BLACK.BLACKED) throw ImError.of("TARGET_IS_BLACK_YOU");
  }
}

/**
 * Group (spec §5.4 with D13 fixed): the sender exists and may speak; the
 * group exists (40000) and is not destroyed (40018); the sender is a
 * current member (40006); a muted group lets only its owner and managers
 * speak (40012); a member muted until a later time may not (40017).
 * @throws ImError 20001, 50003, 50002, 40000, 40018, 40006, 40012, 40017
 */
export function checkGroupSend(rows: GroupSendRows, fromId: string, groupId: string, now: number): void {
  checkSenderRow(rows.sender ?? undefined, fromId);
  const { group, member } = rows;
  if (group === null) throw ImError.of("GROUP_IS_NOT_EXIST", groupId);
  if (group.status === GROUP_STATUS.DESTROY) throw ImError.of("GROUP_IS_DESTROY", groupId);
  if (member === null || member.role === ROLE.LEAVE) throw ImError.of("MEMBER_IS_NOT_JOINED_GROUP", fromId);
  if (group.mute === 1 && member.role !== ROLE.MANAGER && member.role !== ROLE.OWNER) {
    throw ImError.of("THIS_GROUP_IS_MUTE");
  }
  if (member.speakDate !== null && Number(member.speakDate) > now) throw ImError.of("GROUP_MEMBER_IS_SPEAK");
}

/**
 * Group privateChat (issue 16 item 5; stored and never enforced by the original, D33). The rule:
 * a group that forbids private chat keeps its ordinary members from messaging each other when
 * nothing else lets them. So a P2P send is refused with 40021 when all of these hold:
 * - the app lets non-friends message (`messaging.checkFriendship` false). With the check on, only
 *   friends message at all, and friends chat whatever groups they share: there is no private chat
 *   "through the group" left to forbid;
 * - sender and receiver are not friends both ways (self-chat is never refused);
 * - they share at least one live group as current members, and in every one of them the group
 *   forbids private chat and both are ordinary members (an owner or manager may write to members
 *   and be written to; one shared group that allows it is enough).
 * Two users who share no group are not affected: a group governs only what it mediates.
 * The query runs only in that case (open messaging, non-friends), uncached: membership and the
 * setting change under the group's change token, which the P2P cache does not follow.
 * @throws ImError 40021
 */
export async function checkPrivateChat(
  rows: P2PSendRows,
  fromId: string,
  toId: string,
  flags: P2PCheckFlags,
  forbiddingGroup: () => Promise<string | null>,
): Promise<void> {
  if (flags.checkFriendship || fromId === toId || areFriends(rows, fromId, toId)) return;
  const groupId = await forbiddingGroup();
  if (groupId !== null) throw ImError.of("GROUP_FORBID_PRIVATE_CHAT", groupId);
}

/** Friends both ways (status NORMAL in both rows). */
function areFriends(rows: P2PSendRows, fromId: string, toId: string): boolean {
  const normal = (a: string, b: string) =>
    rows.friendships.some((r) => r.fromId === a && r.toId === b && r.status === FRIEND.NORMAL);
  return normal(fromId, toId) && normal(toId, fromId);
}

/**
 * The group that keeps `fromId` and `toId` from chatting privately ({@link checkPrivateChat}),
 * or null: one query over the two users' memberships (index app, member) and their groups.
 */
export async function loadPrivateChatBlock(
  db: Database,
  appId: number,
  fromId: string,
  toId: string,
): Promise<string | null> {
  const [row] = await db.$queryRaw<
    { shared: bigint | number; blocked: boolean | null; group_id: string | null }[]
  >`
    SELECT count(*) AS shared,
      bool_and(g.private_chat = ${PRIVATE_CHAT.FORBIDDEN} AND a.role = ${ROLE.ORDINARY} AND b.role = ${ROLE.ORDINARY})
        AS blocked,
      min(g.group_id) AS group_id
    FROM im_group_member a
    JOIN im_group_member b ON b.app_id = a.app_id AND b.group_id = a.group_id AND b.member_id = ${toId}
    JOIN im_group g ON g.app_id = a.app_id AND g.group_id = a.group_id
    WHERE a.app_id = ${appId} AND a.member_id = ${fromId} AND a.role <> ${ROLE.LEAVE}
      AND b.role <> ${ROLE.LEAVE} AND g.status = ${GROUP_STATUS.NORMAL}`;
  if (row === undefined || Number(row.shared) === 0 || row.blocked !== true) return null;
  return row.group_id;
}
