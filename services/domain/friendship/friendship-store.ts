import type { Friendship as FriendshipRow } from "../../../gen/prisma/client.js";
import { ImError } from "../../../lib/errors/index.js";
import type { DatabaseTransaction } from "../../../lib/ports/db.js";
import { P2P } from "../../../lib/wire/conversation-type.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import { ensureConversations } from "../conversation/conversation-store.js";
import type { DomainEnv } from "../core/env.js";
import { nextUserSequence } from "../core/sequences.js";
import { transaction } from "../core/tx.js";
import { BLACK, checkNotBlacked, FRIEND, findRelation } from "./friendships.js";

/** The fields of a friendship row a caller may set (absent = unchanged, or null on a new row). */
export interface FriendFields {
  remark?: string;
  addSource?: string;
  extra?: string;
}

/** One row of ImportFriendships (an app admin's, stored as given). */
export interface ImportedFriend extends FriendFields {
  toId: string;
  status?: number;
  black?: number;
}

/**
 * Every write of friendship rows (spec §6.3 #8–#18), and the one place that
 * bumps the owners' change tokens (cache/change-tokens.ts): a friendship row
 * belongs to the scope of its `from_id`, and the send path caches it under
 * that scope (messaging/send-permissions.ts), so each method bumps the scope
 * of every row it may have changed once its transaction is over, also when
 * it failed (it may have committed first; a needless bump costs a reload).
 * Handlers keep the rules that need no rows, the notifications and the
 * callbacks; the rules that read the rows being changed run here, in the
 * same transaction. Reads stay in friendships.ts: they need no bump.
 * test/architecture/change-token-owners.test.ts keeps writes and bumps here.
 */
export class FriendshipStore {
  readonly #env: Pick<DomainEnv, "db" | "changes" | "now">;

  constructor(env: Pick<DomainEnv, "db" | "changes" | "now">) {
    this.#env = env;
  }

  /**
   * Makes `fromId` and `item.toId` friends on both sides (spec §6.3 doAddFriend, #9):
   * - refused across a blacklist (30006 / 30007);
   * - from → to becomes NORMAL with the item's remark, add_source and extra
   *   (only those given); already NORMAL → 30002, unless `alreadyFriendsOk`
   *   (an approved request), then it is left as it is;
   * - to → from becomes NORMAL without copying from's remark (D11); left as it
   *   is when already NORMAL;
   * - each changed row takes a sequence from its owner's friendShipSeq counter;
   * - each side gets its P2P conversation when it has none (D11).
   * @returns both rows as they are now
   */
  befriend(
    appId: number,
    fromId: string,
    item: FriendFields & { toId: string },
    opts: { alreadyFriendsOk?: boolean } = {},
  ): Promise<{ forward: FriendshipRow | null; backward: FriendshipRow | null }> {
    const toId = item.toId;
    const now = this.#env.now();
    return this.#write(appId, [fromId, toId], async (tx) => {
      await checkNotBlacked(tx, appId, fromId, toId);
      const forward = await findRelation(tx, appId, fromId, toId);
      const backward = await findRelation(tx, appId, toId, fromId);
      if (forward?.status === FRIEND.NORMAL && !opts.alreadyFriendsOk) throw ImError.of("TO_IS_YOUR_FRIEND");
      // Sequences first, both owners in sorted order (core/sequences lock order).
      const seq = new Map<string, number>();
      for (const owner of [fromId, toId].sort()) {
        const row = owner === fromId ? forward : backward;
        if (row?.status !== FRIEND.NORMAL)
          seq.set(owner, await nextUserSequence(tx, appId, "friendShipSeq", owner));
      }
      const write = async (owner: string, peer: string, fields: FriendFields) => {
        const sequence = seq.get(owner);
        if (sequence === undefined) return findRelation(tx, appId, owner, peer);
        return tx.friendship.upsert({
          where: { appId_fromId_toId: { appId, fromId: owner, toId: peer } },
          create: {
            appId,
            fromId: owner,
            toId: peer,
            status: FRIEND.NORMAL,
            black: BLACK.NORMAL,
            createTime: BigInt(now),
            friendSequence: BigInt(sequence),
            remark: fields.remark ?? null,
            addSource: fields.addSource ?? null,
            extra: fields.extra ?? null,
          },
          update: {
            status: FRIEND.NORMAL,
            friendSequence: BigInt(sequence),
            remark: fields.remark,
            addSource: fields.addSource,
            extra: fields.extra,
          },
        });
      };
      const a = await write(fromId, toId, {
        remark: item.remark,
        addSource: item.addSource,
        extra: item.extra,
      });
      const b = await write(toId, fromId, { addSource: item.addSource });
      await ensureConversations(tx, appId, [
        { type: P2P, owner: fromId, to: toId },
        { type: P2P, owner: toId, to: fromId },
      ]);
      return { forward: a, backward: b };
    });
  }

  /**
   * Stores one imported friendship from → `item.toId` as given (status NORMAL and black NORMAL
   * when absent) with the importer's P2P conversation, as adding one makes it (D11).
   * @throws when the row exists (the import reports it as failed)
   */
  async importOne(appId: number, fromId: string, item: ImportedFriend): Promise<void> {
    await this.#write(appId, [fromId], async (tx) => {
      const sequence = await nextUserSequence(tx, appId, "friendShipSeq", fromId);
      await tx.friendship.create({
        data: {
          appId,
          fromId,
          toId: item.toId,
          remark: item.remark || null,
          addSource: item.addSource || null,
          extra: item.extra || null,
          status: item.status ?? FRIEND.NORMAL,
          black: item.black || BLACK.NORMAL,
          createTime: BigInt(this.#env.now()),
          friendSequence: BigInt(sequence),
        },
      });
      await ensureConversations(tx, appId, [{ type: P2P, owner: fromId, to: item.toId }]);
    });
  }

  /**
   * Changes the given fields of the friendship from → to (D7: the original nulled the rest and
   * kept the sequence). @throws ImError 30003 when they are not friends
   */
  update(appId: number, fromId: string, toId: string, fields: FriendFields): Promise<FriendshipRow> {
    return this.#write(appId, [fromId], async (tx) => {
      const current = await findRelation(tx, appId, fromId, toId);
      if (current?.status !== FRIEND.NORMAL) throw ImError.of("TO_IS_NOT_YOUR_FRIEND");
      const sequence = await nextUserSequence(tx, appId, "friendShipSeq", fromId);
      return tx.friendship.update({
        where: { appId_fromId_toId: { appId, fromId, toId } },
        data: {
          remark: fields.remark,
          addSource: fields.addSource,
          extra: fields.extra,
          friendSequence: BigInt(sequence),
        },
      });
    });
  }

  /**
   * Marks the friendship from → to deleted. @returns its new sequence
   * @throws ImError 30003 when there is none, 30004 when it is deleted already
   */
  remove(appId: number, fromId: string, toId: string): Promise<number> {
    return this.#write(appId, [fromId], async (tx) => {
      const current = await findRelation(tx, appId, fromId, toId);
      if (current === null) throw ImError.of("TO_IS_NOT_YOUR_FRIEND");
      if (current.status !== FRIEND.NORMAL) throw ImError.of("FRIEND_IS_DELETED");
      const seq = await nextUserSequence(tx, appId, "friendShipSeq", fromId);
      await tx.friendship.update({
        where: { appId_fromId_toId: { appId, fromId, toId } },
        data: { status: FRIEND.DELETE, friendSequence: BigInt(seq) },
      });
      return seq;
    });
  }

  /**
   * Marks every friendship of `fromId` deleted, each row with its own sequence so sync sees every
   * deletion (D35: the original took none). @returns the peers, in order, and the last sequence (0: none)
   */
  removeAll(appId: number, fromId: string): Promise<{ deleted: string[]; sequence: number }> {
    return this.#write(appId, [fromId], async (tx) => {
      const friends = await tx.friendship.findMany({
        where: { appId, fromId, status: FRIEND.NORMAL },
        orderBy: { toId: "asc" },
      });
      let seq = 0;
      for (const f of friends) {
        seq = await nextUserSequence(tx, appId, "friendShipSeq", fromId);
        await tx.friendship.update({
          where: { appId_fromId_toId: { appId, fromId, toId: f.toId } },
          data: { status: FRIEND.DELETE, friendSequence: BigInt(seq) },
        });
      }
      return { deleted: friends.map((f) => f.toId), sequence: seq };
    });
  }

  /**
   * Sets the black column of from → to (spec §6.3 #16–#17), creating a NO_FRIEND row when they
   * were never friends; friend_sequence and black_sequence both move (D7).
   * @returns the new sequence
   * @throws ImError 30006 blacking twice, 30008 unblacking a stranger, 30010 unblacking one not blacked
   */
  setBlack(appId: number, fromId: string, toId: string, black: number): Promise<number> {
    return this.#write(appId, [fromId], async (tx) => {
      const row = await findRelation(tx, appId, fromId, toId);
      if (black === BLACK.BLACKED && row?.black === BLACK.BLACKED) throw ImError.of("FRIEND_IS_BLACK");
      if (black === BLACK.NORMAL && row === null) throw ImError.of("REPEATSHIP_IS_NOT_EXIST"); // D35: was an NPE
      if (black === BLACK.NORMAL && row?.black !== BLACK.BLACKED)
        throw ImError.of("FRIEND_IS_NOT_YOUR_BLACK");
      const sequence = BigInt(await nextUserSequence(tx, appId, "friendShipSeq", fromId));
      await tx.friendship.upsert({
        where: { appId_fromId_toId: { appId, fromId, toId } },
        create: {
          appId,
          fromId,
          toId,
          status: FRIEND.NO_FRIEND,
          black,
          createTime: BigInt(this.#env.now()),
          friendSequence: sequence,
          blackSequence: sequence,
        },
        update: { black, friendSequence: sequence, blackSequence: sequence },
      });
      return Number(sequence);
    });
  }

  /** Runs `change` in one transaction, then bumps the scopes of `owners` (the rows' from_ids). */
  async #write<T>(
    appId: number,
    owners: readonly string[],
    change: (tx: DatabaseTransaction) => Promise<T>,
  ): Promise<T> {
    const db = await this.#env.db();
    const scopes = [...new Set(owners)].map((owner) => ChangeTokens.user(appId, owner));
    return this.#env.changes.around(scopes, () => transaction(db, change));
  }
}
