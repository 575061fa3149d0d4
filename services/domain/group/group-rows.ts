import type { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import { ErrorCatalogue, type ErrorName } from "../../../lib/errors/index.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { ensureConversations } from "../conversation/conversation-store.js";
import { nextGroupSequence, type Tx } from "../core/sequences.js";
import { ADD_RESULT, type AddMemberOutcome, ROLE } from "./groups.js";

/*
 * The row writes GroupStore (group-store.ts) composes, on the transaction it opened. Private to
 * the store: nothing else imports this file (test/architecture/change-token-owners.test.ts), so
 * a write made here is always followed by the group's change-token bump.
 */

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

/** How {@link addMembers} stamps the rows it writes. */
export interface AddOptions {
  now: number;
  /** The members see the whole history (creation, imports), not only what is sent after they join. */
  fromStart: boolean;
  /** A `join_time` given in an item is kept (imports). */
  keepJoinTime?: boolean;
}

/**
 * Puts members in a group (spec §6.3 addGroupMember), in list order as if one by one: the user
 * must exist (20001); a second OWNER is refused (40002); LEAVE is no role to add with; a current
 * member, or one named earlier in the list, is a REPEAT_JOIN (40003); one who left re-joins on the
 * same row; past the group's `max_member_count` a member is refused (40005, {@link roomLeft}). A
 * first join gets the member's group conversation. Refusals are reported in the
 * outcomes, not thrown.
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
  opts: AddOptions,
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
function memberFields(item: GroupMemberItem, opts: AddOptions, joinSequence: bigint) {
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
