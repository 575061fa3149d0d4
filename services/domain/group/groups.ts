import { randomUUID } from "node:crypto";
import type { Group as GroupRow, GroupMember as MemberRow } from "../../../gen/prisma/client.js";
import { GroupMemberRole, GroupStatus, GroupType } from "../../../gen/ts/whaleshark/v1/enums.js";
import type { Group, GroupMember } from "../../../gen/ts/whaleshark/v1/model.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Tx } from "../core/sequences.js";

/*
 * Groups' reads, row mappings and request values. Every write of group and member rows is
 * GroupStore's (group-store.ts), which bumps the group's change token after it.
 */

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

/** The outcome of adding one member (group-store.ts: GroupStore.addMembers). */
export interface AddMemberOutcome {
  memberId: string;
  result: number;
  resultMessage: string;
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
