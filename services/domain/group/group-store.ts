import type { Group as GroupRow, GroupMember as MemberRow } from "../../../gen/prisma/client.js";
import type { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import { ImError } from "../../../lib/errors/index.js";
import type { DatabaseTransaction } from "../../../lib/ports/db.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import type { DomainEnv } from "../core/env.js";
import { nextGroupSequence } from "../core/sequences.js";
import { transaction } from "../core/tx.js";
import { requireUser } from "../users/users.js";
import { type AddOptions, addMembers, bumpGroup } from "./group-rows.js";
import {
  ADD_RESULT,
  type AddMemberOutcome,
  currentMembers,
  GROUP_STATUS,
  GROUP_TYPE,
  ROLE,
  requireLiveGroup,
  requireMember,
} from "./groups.js";

/** Who asks for a change: the operator's id, and whether they are an app admin (D4: admins pass the role checks). */
export interface Operator {
  id: string;
  admin: boolean;
}

/** The columns of a new group (null: unset). */
export interface NewGroup {
  ownerId: string;
  groupType: number;
  groupName: string | null;
  mute: number;
  applyJoinType: number;
  privateChat: number | undefined;
  introduction: string | null;
  notification: string | null;
  photo: string | null;
  maxMemberCount: number | null;
  extra: string | null;
}

/** The columns of a group UpdateGroup may change (absent = unchanged). */
export interface GroupChanges {
  groupName?: string | undefined;
  introduction?: string | undefined;
  notification?: string | undefined;
  photo?: string | undefined;
  extra?: string | undefined;
  applyJoinType?: number | undefined;
  maxMemberCount?: number | undefined;
  mute?: number | undefined;
  privateChat?: number | undefined;
}

/** The columns of a member UpdateGroupMember may change (absent = unchanged). */
export interface MemberChanges {
  alias?: string | undefined;
  extra?: string | undefined;
  /** MANAGER or ORDINARY (the handler refuses any other value). */
  role?: number | undefined;
}

/**
 * Every write of a group's rows (its im_group row and its member rows), and
 * the one place that bumps the group's change token (cache/change-tokens.ts),
 * under which the send path caches the group and the sender's member row
 * (messaging/send-permissions.ts) and the push path the member list
 * (messaging/group-members.ts).
 *
 * Each method is one transaction opened by {@link GroupStore.#change}, which
 * bumps the token after it. The rules that read the rows being changed (the
 * group's status, the operator's and the target's roles, the member limit)
 * run inside it, so they hold at the commit; handlers keep the request
 * mapping, the rules that need no rows, the notifications and the callbacks.
 * Every change takes a sequence from the app's groupSeq counter (D19, a
 * column, inside the transaction); the change token is kv, bumped after it.
 * The row helpers the methods share are in group-rows.ts, which only this
 * file imports; reads stay in groups.ts. test/architecture/change-token-owners.test.ts
 * keeps every write of these rows in those two files.
 */
export class GroupStore {
  readonly #env: Pick<DomainEnv, "db" | "changes" | "now">;

  constructor(env: Pick<DomainEnv, "db" | "changes" | "now">) {
    this.#env = env;
  }

  /**
   * Stores an imported group as given, without members (spec §6.3 #27). `createTime` is kept
   * (D15). @throws ImError 40001 when the id is taken
   */
  async importGroup(appId: number, groupId: string, group: NewGroup, createTime: number): Promise<void> {
    await this.#change(appId, groupId, async (tx) => {
      await this.#createGroup(tx, appId, groupId, group, createTime, this.#env.now());
    });
  }

  /**
   * Creates a group with `group.ownerId` as its OWNER member and `items` added after them, all
   * seeing the whole history (spec §6.3 #28). The owner must be a user (checked by the caller).
   * @returns the group's row, the outcome of each item, in order, and the current members
   * @throws ImError 40001 when the id is taken
   */
  createWithOwner(
    appId: number,
    groupId: string,
    group: NewGroup,
    items: readonly GroupMemberItem[],
  ): Promise<{ group: GroupRow; results: AddMemberOutcome[]; members: MemberRow[] }> {
    const now = this.#env.now();
    return this.#change(appId, groupId, async (tx) => {
      const created = await this.#createGroup(tx, appId, groupId, group, now, now);
      const opts = { now, fromStart: true };
      const owner = {
        memberId: group.ownerId,
        alias: "",
        role: ROLE.OWNER,
        speakDate: 0,
        joinType: "",
        joinTime: 0,
        extra: "",
      };
      await addMembers(tx, appId, groupId, [owner], opts);
      const results = await addMembers(tx, appId, groupId, items, opts);
      return { group: created, results, members: await currentMembers(tx, appId, groupId) };
    });
  }

  /**
   * Changes the given fields of a live group (D5: only destroyed groups are refused). An app
   * admin or a member may; in a PUBLIC group not an ordinary one (40007).
   * @returns the group's row, its current members and the new sequence
   * @throws ImError 40000, 40018, 40006, 40007
   */
  update(
    appId: number,
    groupId: string,
    by: Operator,
    changes: GroupChanges,
  ): Promise<{ group: GroupRow; members: MemberRow[]; sequence: number }> {
    return this.#change(appId, groupId, async (tx) => {
      const current = await requireLiveGroup(tx, appId, groupId);
      if (!by.admin) {
        const me = await requireMember(tx, appId, groupId, by.id);
        if (current.groupType === GROUP_TYPE.PUBLIC && me.role === ROLE.ORDINARY) {
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        }
      }
      const sequence = await nextGroupSequence(tx, appId);
      const group = await tx.group.update({
        where: { appId_groupId: { appId, groupId } },
        data: { ...changes, sequence: BigInt(sequence), updateTime: BigInt(this.#env.now()) },
      });
      return { group, members: await currentMembers(tx, appId, groupId), sequence };
    });
  }

  /**
   * Destroys a live group (spec §6.3 #32; D13: by its owner only, private or public, or an app
   * admin). Its member rows stay, so its members are told and sync the destroyed group.
   * @returns the current members and the new sequence
   * @throws ImError 40000, 40018, 40009
   */
  destroy(appId: number, groupId: string, by: Operator): Promise<{ members: MemberRow[]; sequence: number }> {
    return this.#change(appId, groupId, async (tx) => {
      const group = await requireLiveGroup(tx, appId, groupId);
      if (!by.admin && group.ownerId !== by.id) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
      const sequence = await bumpGroup(tx, appId, groupId, this.#env.now());
      await tx.group.update({
        where: { appId_groupId: { appId, groupId } },
        data: { status: GROUP_STATUS.DESTROY },
      });
      return { members: await currentMembers(tx, appId, groupId), sequence };
    });
  }

  /**
   * Makes the member `newOwner` the owner of a live group (spec §6.3 #33), by its owner or an
   * app admin; the old owner becomes an ordinary member.
   * @returns undefined when `newOwner` owns it already (nothing changed), else the old owner and
   *   the current members
   * @throws ImError 40000, 40018, 40006 (the operator or `newOwner` not a member), 40009
   */
  transferOwnership(
    appId: number,
    groupId: string,
    by: Operator,
    newOwner: string,
  ): Promise<{ oldOwner: string; members: MemberRow[] } | undefined> {
    return this.#change(appId, groupId, async (tx) => {
      const group = await requireLiveGroup(tx, appId, groupId);
      if (!by.admin) {
        const me = await requireMember(tx, appId, groupId, by.id);
        if (me.role !== ROLE.OWNER) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
      }
      await requireMember(tx, appId, groupId, newOwner);
      if (group.ownerId === newOwner) return undefined;
      await tx.groupMember.updateMany({
        where: { appId, groupId, role: ROLE.OWNER },
        data: { role: ROLE.ORDINARY },
      });
      await tx.groupMember.update({
        where: { appId_groupId_memberId: { appId, groupId, memberId: newOwner } },
        data: { role: ROLE.OWNER },
      });
      await tx.group.update({ where: { appId_groupId: { appId, groupId } }, data: { ownerId: newOwner } });
      await bumpGroup(tx, appId, groupId, this.#env.now());
      return { oldOwner: group.ownerId, members: await currentMembers(tx, appId, groupId) };
    });
  }

  /**
   * Sets a live group's mute-all flag (spec §6.3 #34), by its owner, a manager or an app admin.
   * @returns the current members
   * @throws ImError 40000, 40018, 40007 (also for a non-member)
   */
  setMute(appId: number, groupId: string, by: Operator, mute: number): Promise<MemberRow[]> {
    return this.#change(appId, groupId, async (tx) => {
      await requireLiveGroup(tx, appId, groupId);
      if (!by.admin) {
        const me = await requireMember(tx, appId, groupId, by.id).catch(() => {
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        });
        if (me.role !== ROLE.OWNER && me.role !== ROLE.MANAGER)
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
      }
      await tx.group.update({ where: { appId_groupId: { appId, groupId } }, data: { mute } });
      await bumpGroup(tx, appId, groupId, this.#env.now());
      return currentMembers(tx, appId, groupId);
    });
  }

  /**
   * Adds `items` to a live group in one transaction, as group-rows.ts addMembers rules (the
   * user exists, one owner, no repeat, the member limit; refusals are outcomes, not errors), and
   * takes a group sequence when anyone was added. Who may add whom is the caller's to check.
   * @returns the outcome of each item, in order
   * @throws ImError 40000, 40018
   */
  addMembers(
    appId: number,
    groupId: string,
    items: readonly GroupMemberItem[],
    opts: AddOptions,
  ): Promise<AddMemberOutcome[]> {
    return this.#change(appId, groupId, async (tx) => {
      await requireLiveGroup(tx, appId, groupId);
      const outcomes = await addMembers(tx, appId, groupId, items, opts);
      if (outcomes.some((r) => r.result === ADD_RESULT.SUCCESS))
        await bumpGroup(tx, appId, groupId, this.#env.now());
      return outcomes;
    });
  }

  /**
   * Removes the user `memberId` from a live group (spec §6.3 #39); the owner is never removed
   * (40010). Besides an app admin: in a private group only the owner removes (D13: the
   * original's rule was dead code); in a public one the owner, or a manager an ordinary member.
   * @returns the current members (without the removed one)
   * @throws ImError 40000, 40018, 20001, 40006, 40010, 40007, 40009
   */
  removeMember(appId: number, groupId: string, by: Operator, memberId: string): Promise<MemberRow[]> {
    return this.#change(appId, groupId, async (tx) => {
      const group = await requireLiveGroup(tx, appId, groupId);
      await requireUser(tx, appId, memberId);
      const target = await requireMember(tx, appId, groupId, memberId);
      if (target.role === ROLE.OWNER) throw ImError.of("GROUP_OWNER_IS_NOT_REMOVE");
      if (!by.admin) {
        const me = await requireMember(tx, appId, groupId, by.id).catch(() => {
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        });
        if (group.groupType === GROUP_TYPE.PRIVATE) {
          if (me.role !== ROLE.OWNER) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
        } else if (me.role === ROLE.ORDINARY) {
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        } else if (me.role === ROLE.MANAGER && target.role !== ROLE.ORDINARY) {
          throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
        }
      }
      return this.#leave(tx, appId, groupId, target);
    });
  }

  /**
   * `memberId` leaves a live group (spec §6.3 #37); the owner cannot (40010: transfer or
   * destroy it first). @returns the current members (without the one who left)
   * @throws ImError 40000, 40018, 40006, 40010
   */
  exit(appId: number, groupId: string, memberId: string): Promise<MemberRow[]> {
    return this.#change(appId, groupId, async (tx) => {
      await requireLiveGroup(tx, appId, groupId);
      const me = await requireMember(tx, appId, groupId, memberId);
      if (me.role === ROLE.OWNER)
        throw ImError.of("GROUP_OWNER_IS_NOT_REMOVE", "transfer or destroy the group first");
      return this.#leave(tx, appId, groupId, me);
    });
  }

  /**
   * Changes the given fields of the member `memberId` of a live group (spec §6.3 #40): alias and
   * extra by the member themself, the owner, a manager or an app admin (40014); the role (MANAGER
   * or ORDINARY) in a private group by an app admin only (40008), otherwise by the owner (an
   * ordinary member 40007, a manager 40009), never the owner's (90001: TransferGroup moves it).
   * @returns the current members, after the change
   * @throws ImError 40000, 40018, 40006, 40014, 40008, 40007, 40009, 90001
   */
  updateMember(
    appId: number,
    groupId: string,
    by: Operator,
    memberId: string,
    changes: MemberChanges,
  ): Promise<MemberRow[]> {
    return this.#change(appId, groupId, async (tx) => {
      const group = await requireLiveGroup(tx, appId, groupId);
      const target = await requireMember(tx, appId, groupId, memberId);
      const me = by.admin ? null : await requireMember(tx, appId, groupId, by.id);
      const leader = by.admin || me?.role === ROLE.OWNER || me?.role === ROLE.MANAGER;
      if ((changes.alias !== undefined || changes.extra !== undefined) && memberId !== by.id && !leader) {
        throw ImError.of("THIS_OPERATE_NEED_ONESELF");
      }
      const data: { alias?: string | undefined; extra?: string | undefined; role?: number } = {
        alias: changes.alias,
        extra: changes.extra,
      };
      if (changes.role !== undefined) {
        if (group.groupType === GROUP_TYPE.PRIVATE && !by.admin)
          throw ImError.of("THIS_OPERATE_NEED_APPMANAGER_ROLE");
        if (!by.admin && me?.role === ROLE.ORDINARY) throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        if (!by.admin && me?.role !== ROLE.OWNER) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
        if (target.role === ROLE.OWNER) {
          throw ImError.of("PARAMETER_ERROR", "the owner's role changes by TransferGroup only");
        }
        data.role = changes.role;
      }
      await tx.groupMember.update({ where: { groupMemberId: target.groupMemberId }, data });
      await bumpGroup(tx, appId, groupId, this.#env.now());
      return currentMembers(tx, appId, groupId);
    });
  }

  /**
   * Mutes the member `memberId` of a live group for `durationMs` from now (speak_date is "muted
   * until", epoch ms; a duration <= 0 unmutes; spec §6.3 #41). The operator is the owner, a
   * manager (40007 otherwise, also for a non-member) or an app admin; the target a member, not
   * the owner (40008); a manager mutes only ordinary members (40009).
   * @returns the current members
   * @throws ImError 40000, 40018, 40007, 40006, 40008, 40009
   */
  muteMember(
    appId: number,
    groupId: string,
    by: Operator,
    memberId: string,
    durationMs: number,
  ): Promise<MemberRow[]> {
    const now = this.#env.now();
    return this.#change(appId, groupId, async (tx) => {
      await requireLiveGroup(tx, appId, groupId);
      let myRole: number = ROLE.OWNER;
      if (!by.admin) {
        const me = await requireMember(tx, appId, groupId, by.id).catch(() => {
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        });
        if (me.role !== ROLE.OWNER && me.role !== ROLE.MANAGER)
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        myRole = me.role;
      }
      const target = await requireMember(tx, appId, groupId, memberId);
      if (target.role === ROLE.OWNER)
        throw ImError.of("THIS_OPERATE_NEED_APPMANAGER_ROLE", "the owner cannot be muted");
      if (myRole === ROLE.MANAGER && target.role !== ROLE.ORDINARY)
        throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
      await tx.groupMember.update({
        where: { groupMemberId: target.groupMemberId },
        data: { speakDate: durationMs > 0 ? BigInt(now + durationMs) : 0n },
      });
      await bumpGroup(tx, appId, groupId, now);
      return currentMembers(tx, appId, groupId);
    });
  }

  /** Inserts the group row with a fresh group sequence. @throws ImError 40001 when the id is taken */
  async #createGroup(
    tx: DatabaseTransaction,
    appId: number,
    groupId: string,
    group: NewGroup,
    createTime: number,
    updateTime: number,
  ): Promise<GroupRow> {
    if ((await tx.group.findUnique({ where: { appId_groupId: { appId, groupId } } })) !== null) {
      throw ImError.of("GROUP_IS_EXIST", groupId);
    }
    const sequence = await nextGroupSequence(tx, appId);
    return tx.group.create({
      data: {
        ...group,
        appId,
        groupId,
        status: GROUP_STATUS.NORMAL,
        sequence: BigInt(sequence),
        createTime: BigInt(createTime),
        updateTime: BigInt(updateTime),
      },
    });
  }

  /** Marks `member` as having left (role LEAVE, its leave time). @returns the current members */
  async #leave(
    tx: DatabaseTransaction,
    appId: number,
    groupId: string,
    member: MemberRow,
  ): Promise<MemberRow[]> {
    const now = this.#env.now();
    await tx.groupMember.update({
      where: { groupMemberId: member.groupMemberId },
      data: { role: ROLE.LEAVE, leaveTime: BigInt(now) },
    });
    await bumpGroup(tx, appId, groupId, now);
    return currentMembers(tx, appId, groupId);
  }

  /**
   * Runs `change` in one transaction (core/tx.ts: retried when it loses a race), then bumps the
   * change token of `groupId`, also when it failed (it may have committed first; a needless bump
   * costs one reload). A failed bump fails the call, so the caller retries rather than leave
   * caches stale.
   */
  async #change<T>(
    appId: number,
    groupId: string,
    change: (tx: DatabaseTransaction) => Promise<T>,
  ): Promise<T> {
    const db = await this.#env.db();
    return this.#env.changes.around([ChangeTokens.group(appId, groupId)], () => transaction(db, change));
  }
}
