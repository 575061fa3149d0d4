import { randomUUID } from "node:crypto";
import type { Group as GroupRow, GroupMember as MemberRow } from "../../../gen/prisma/client.js";
import type { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import { GroupMemberRole, GroupStatus, GroupType } from "../../../gen/ts/whaleshark/v1/enums.js";
import type { Group, GroupMember } from "../../../gen/ts/whaleshark/v1/model.js";
import { ErrorCatalogue, type ErrorName, ImError } from "../../../lib/errors/index.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { ensureConversations } from "../conversation/conversation-store.js";
import { nextGroupSequence, type Tx } from "../core/sequences.js";

/** Short names of the generated GroupMemberRole (enums.proto; spec §10.2, D31: the code's values). */
export const ROLE = {
  ORDINARY: GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY,
  MANAGER: GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER,
  OWNER: GroupMemberRole.GROUP_MEMBER_ROLE_OWNER,
  LEAVE: GroupMemberRole.GROUP_MEMBER_ROLE_LEAVE,
} as const;
/** Short names of the generated GroupStatus (enums.proto; spec §10.2, D31). */
export const GROUP_STATUS = {
  NORMAL: GroupStatus.GROUP_STATUS_NORMAL,
  DESTROY: GroupStatus.GROUP_STATUS_DESTROY,
} as const;
/** Short names of the generated GroupType (enums.proto; spec §10.2). */
export const GROUP_TYPE = {
  PRIVATE: GroupType.GROUP_TYPE_PRIVATE,
  PUBLIC: GroupType.GROUP_TYPE_PUBLIC,
} as const;
/** Group.private_chat: whether ordinary members who are not friends may message each other. */
export const PRIVATE_CHAT = { ALLOWED: 0, FORBIDDEN: 1 } as const;

/**
 * A requested private_chat value: 0 or 1 (absent = `fallback`).
 * @throws ImError 90001 for anything else
 */
export function privateChatValue(value: number | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (value !== PRIVATE_CHAT.ALLOWED && value !== PRIVATE_CHAT.FORBIDDEN) {
    throw ImError.of("PARAMETER_ERROR", "private_chat must be 0 or 1");
  }
  return value;
}

/** AddMemberResult (spec §10.2). */
export const ADD_RESULT = { SUCCESS: 0, FAIL: 1, REPEAT_JOIN: 2 } as const;

/** A fresh group id: 32 lowercase hex characters (spec §9). */
export function newGroupId(): string {
  return randomUUID().replace(/-/g, "");
}

/** A database row as the contract's Group. */
export function toGroup(row: GroupRow): Group {
  return {
    appId: row.appId,
    groupId: row.groupId,
    ownerId: row.ownerId,
    groupType: row.groupType,
    groupName: row.groupName ?? "",
    mute: row.mute,
    applyJoinType: row.applyJoinType,
    privateChat: row.privateChat,
    photo: row.photo ?? "",
    maxMemberCount: row.maxMemberCount ?? 0,
    introduction: row.introduction ?? "",
    notification: row.notification ?? "",
    status: row.status,
    sequence: Number(row.sequence),
    createTime: Number(row.createTime ?? 0n),
    updateTime: Number(row.updateTime ?? 0n),
    extra: row.extra ?? "",
  };
}

/** A database row as the contract's GroupMember. */
export function toGroupMember(row: MemberRow): GroupMember {
  return {
    appId: row.appId,
    groupId: row.groupId,
    memberId: row.memberId,
    role: row.role,
    speakDate: Number(row.speakDate ?? 0n),
    alias: row.alias ?? "",
    joinTime: Number(row.joinTime ?? 0n),
    leaveTime: Number(row.leaveTime ?? 0n),
    joinType: row.joinType ?? "",
    extra: row.extra ?? "",
  };
}

/** The group, any status. @throws ImError 40000 */
export async function requireGroup(tx: Tx, appId: number, groupId: string): Promise<GroupRow> {
  const group = await tx.group.findUnique({ where: { appId_groupId: { appId, groupId } } });
  if (group === null) throw ImError.of("GROUP_IS_NOT_EXIST", groupId);
  return group;
}

/** A group that is not destroyed. @throws ImError 40000, 40018 (D13: destroyed groups refuse changes) */
export async function requireLiveGroup(tx: Tx, appId: number, groupId: string): Promise<GroupRow> {
  const group = await requireGroup(tx, appId, groupId);
  if (group.status === GROUP_STATUS.DESTROY) throw ImError.of("GROUP_IS_DESTROY", groupId);
  return group;
}

/** A current member's row (role not LEAVE), or null. */
export async function findMember(
  tx: Tx,
  appId: number,
  groupId: string,
  memberId: string,
): Promise<MemberRow | null> {
  const row = await tx.groupMember.findUnique({
    where: { appId_groupId_memberId: { appId, groupId, memberId } },
  });
  return row === null || row.role === ROLE.LEAVE ? null : row;
}

/** A current member. @throws ImError 40006 */
export async function requireMember(
  tx: Tx,
  appId: number,
  groupId: string,
  memberId: string,
): Promise<MemberRow> {
  const row = await findMember(tx, appId, groupId, memberId);
  if (row === null) throw ImError.of("MEMBER_IS_NOT_JOINED_GROUP", memberId);
  return row;
}

/** The current members (role not LEAVE), by join time. */
export function currentMembers(tx: Tx, appId: number, groupId: string): Promise<MemberRow[]> {
  return tx.groupMember.findMany({
    where: { appId, groupId, role: { not: ROLE.LEAVE } },
    orderBy: [{ joinTime: "asc" }, { groupMemberId: "asc" }],
  });
}

/** The owner and managers among `members` (recipients of 2001 / 2005 / 2000, spec §5.6). */
export function leaders(members: readonly MemberRow[]): string[] {
  return members.filter((m) => m.role === ROLE.OWNER || m.role === ROLE.MANAGER).map((m) => m.memberId);
}

/** Takes the next group sequence for `groupId` (every group and membership change, D19). */
export async function bumpGroup(tx: Tx, appId: number, groupId: string, now: number): Promise<number> {
  const sequence = await nextGroupSequence(tx, appId);
  await tx.group.update({
    where: { appId_groupId: { appId, groupId } },
    data: { sequence: BigInt(sequence), updateTime: BigInt(now) },
  });
  return sequence;
}

/**
 * Where a (re-)joining member's history starts: the group's highest stored
 * messageSequence, so they see only messages sent after they joined. Read
 * from the durable history (messages still on their way to the store may
 * show too: a few more, never fewer).
 */
async function currentMessageSequence(tx: Tx, appId: number, groupId: string): Promise<bigint> {
  const max = await tx.groupMessageHistory.aggregate({ where: { appId, groupId }, _max: { sequence: true } });
  return max._max.sequence ?? 0n;
}

/**
 * How many more members `groupId` takes: `max_member_count` (D33: stored, never enforced by the
 * original) minus its current members; unlimited when unset or not above 0. Locks the group row
 * first, so concurrent adds to one group (each in its own READ COMMITTED transaction) count one
 * after the other and together never pass the limit.
 */
async function roomLeft(tx: Tx, appId: number, groupId: string): Promise<number> {
  const [group] = await tx.$queryRaw<Array<{ max_member_count: number | null }>>`
    SELECT max_member_count FROM im_group WHERE app_id = ${appId} AND group_id = ${groupId} FOR UPDATE`;
  const limit = group?.max_member_count ?? 0;
  if (limit <= 0) return Number.POSITIVE_INFINITY;
  return limit - (await tx.groupMember.count({ where: { appId, groupId, role: { not: ROLE.LEAVE } } }));
}

/** The outcome of adding one member ({@link addMembers}). */
export interface AddMemberOutcome {
  memberId: string;
  result: number;
  resultMessage: string;
}

/**
 * Puts members in a group (spec §6.3 addGroupMember), in list order as if one by one: the user
 * must exist (20001); a second OWNER is refused (40002); LEAVE is no role to add with; a current
 * member, or one named earlier in the list, is a REPEAT_JOIN (40003); one who left re-joins on the
 * same row; past the group's `max_member_count` a member is refused (40005, {@link roomLeft}). A
 * first join gets the member's group conversation. Refusals are reported in the
 * outcomes, not thrown. `fromStart` lets the members see the whole history (creation, imports).
 *
 * A fixed handful of queries for the whole list (users, existing rows, owner, history start, one
 * insert, conversations), not five per member: bulk adds run in short transactions
 * (group-member/chunks.ts), and on PGlite every query of a transaction holds the process.
 */
export async function addMembers(
  tx: Tx,
  appId: number,
  groupId: string,
  items: readonly GroupMemberItem[],
  opts: { now: number; fromStart: boolean; keepJoinTime?: boolean },
): Promise<AddMemberOutcome[]> {
  const refuse = (item: GroupMemberItem, name: ErrorName, result: number = ADD_RESULT.FAIL) => ({
    memberId: item.memberId,
    result,
    resultMessage: ErrorCatalogue[name].message,
  });
  const wellFormed = items.filter(
    (i) => i.memberId.trim() !== "" && i.role !== ROLE.LEAVE && i.role >= 0 && i.role <= ROLE.OWNER,
  );
  const ids = [...new Set(wellFormed.map((i) => i.memberId))];
  if (ids.length === 0) return items.map((i) => refuse(i, "PARAMETER_ERROR"));
  const room = await roomLeft(tx, appId, groupId);
  const [users, rows, owner, startSequence] = await Promise.all([
    tx.userData.findMany({ where: { appId, userId: { in: ids }, delFlag: 0 }, select: { userId: true } }),
    tx.groupMember.findMany({ where: { appId, groupId, memberId: { in: ids } } }),
    wellFormed.some((i) => i.role === ROLE.OWNER)
      ? tx.groupMember.findFirst({ where: { appId, groupId, role: ROLE.OWNER }, select: { memberId: true } })
      : null,
    opts.fromStart ? 0n : currentMessageSequence(tx, appId, groupId),
  ]);
  const live = new Set(users.map((u) => u.userId));
  const existing = new Map(rows.map((r) => [r.memberId, r]));
  const joined = new Set(rows.filter((r) => r.role !== ROLE.LEAVE).map((r) => r.memberId));
  let hasOwner = owner !== null;
  const outcomes: AddMemberOutcome[] = [];
  const creates: Array<{ memberId: string; fields: ReturnType<typeof memberFields> }> = [];
  const rejoins: Array<{ groupMemberId: bigint; fields: ReturnType<typeof memberFields> }> = [];
  for (const item of items) {
    if (item.memberId.trim() === "") outcomes.push(refuse(item, "PARAMETER_ERROR"));
    else if (item.role === ROLE.LEAVE || item.role < 0 || item.role > ROLE.OWNER)
      outcomes.push(refuse(item, "PARAMETER_ERROR"));
    else if (!live.has(item.memberId)) outcomes.push(refuse(item, "USER_IS_NOT_EXIST"));
    else if (item.role === ROLE.OWNER && hasOwner) outcomes.push(refuse(item, "GROUP_IS_HAVE_OWNER"));
    else if (joined.has(item.memberId))
      outcomes.push(refuse(item, "USER_IS_JOINED_GROUP", ADD_RESULT.REPEAT_JOIN));
    else if (creates.length + rejoins.length >= room) outcomes.push(refuse(item, "GROUP_MEMBER_IS_BEYOND"));
    else {
      if (item.role === ROLE.OWNER) hasOwner = true;
      joined.add(item.memberId);
      const fields = memberFields(item, opts, startSequence);
      const row = existing.get(item.memberId);
      if (row === undefined) creates.push({ memberId: item.memberId, fields });
      else rejoins.push({ groupMemberId: row.groupMemberId, fields });
      outcomes.push({
        memberId: item.memberId,
        result: ADD_RESULT.SUCCESS,
        resultMessage: ErrorCatalogue.SUCCESS.message,
      });
    }
  }
  if (creates.length > 0) {
    await tx.groupMember.createMany({
      data: creates.map((c) => ({ appId, groupId, memberId: c.memberId, ...c.fields })),
    });
  }
  for (const r of rejoins)
    await tx.groupMember.update({ where: { groupMemberId: r.groupMemberId }, data: r.fields });
  const members = outcomes.filter((o) => o.result === ADD_RESULT.SUCCESS).map((o) => o.memberId);
  await ensureConversations(
    tx,
    appId,
    members.map((owner) => ({ type: GROUP, owner, to: groupId })),
  );
  return outcomes;
}

/** The columns a (re-)joining member's row gets. */
function memberFields(
  item: GroupMemberItem,
  opts: { now: number; keepJoinTime?: boolean },
  joinSequence: bigint,
) {
  return {
    role: item.role,
    speakDate: item.speakDate > 0 ? BigInt(item.speakDate) : null,
    alias: item.alias || null,
    joinType: item.joinType || null,
    extra: item.extra || null,
    joinTime: BigInt(opts.keepJoinTime && item.joinTime > 0 ? item.joinTime : opts.now),
    leaveTime: null,
    joinSequence,
  };
}

/** {@link addMembers} for one member. */
export async function addMember(
  tx: Tx,
  appId: number,
  groupId: string,
  item: GroupMemberItem,
  opts: { now: number; fromStart: boolean; keepJoinTime?: boolean },
): Promise<AddMemberOutcome> {
  const [outcome] = await addMembers(tx, appId, groupId, [item], opts);
  return outcome as AddMemberOutcome;
}

/** GroupType of a request: absent means PRIVATE (D35: the original threw on null). */
export function groupType(value: number): number {
  if (value === 0) return GROUP_TYPE.PRIVATE;
  if (value !== GROUP_TYPE.PRIVATE && value !== GROUP_TYPE.PUBLIC) {
    throw ImError.of("PARAMETER_ERROR", "group_type must be PRIVATE or PUBLIC");
  }
  return value;
}

/** GroupMuteType of a request. @throws ImError 90001 */
export function muteValue(value: number): number {
  if (value !== 0 && value !== 1) throw ImError.of("PARAMETER_ERROR", "mute must be NOT_MUTE or MUTE");
  return value;
}
