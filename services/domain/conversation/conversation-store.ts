import type { DatabaseTransaction } from "../../../lib/ports/db.js";
import type { DomainEnv } from "../core/env.js";
import { nextUserSequence, type Tx } from "../core/sequences.js";
import { transaction } from "../core/tx.js";
import { type ConversationKey, conversationId } from "./conversations.js";

/** The flags of a conversation its owner may set, 0 or 1 (absent = unchanged, or 0 on a new row). */
export interface ConversationFlags {
  isMute?: number;
  isTop?: number;
}

/**
 * Every write of conversation rows (im_conversation_set) the domain makes
 * (spec §6.3 #42–#44, §5.7): deleting one, setting its top and mute flags,
 * moving its read cursor, and creating the rows a friendship or a group
 * member gets ({@link ensureConversations}). Each write takes a sequence
 * from the owner's conversationSeq counter in its transaction, so the
 * owner's devices sync it (core/sequences.ts).
 *
 * No change token is bumped: no cache holds conversation rows. The send
 * path caches users, friendships, groups and members
 * (messaging/send-permissions.ts, cache/change-tokens.ts), never a
 * conversation, and the read-receipt rule reads message rows, not these.
 * A conversation cache would need a scope here first.
 *
 * The store role writes the same rows with raw SQL in its own process
 * (services/store/consumer/message-writer.ts for P2P, group-conversations.ts
 * for groups): it creates a missing row, revives a deleted one and gives it
 * a new sequence when a message arrives. Both sides stay consistent because
 * they number rows from the same counter rows (im_sequence_high_water, whose
 * row lock orders the two writers' commits by sequence) and write disjoint
 * columns besides the sequence: the store only creates rows and sets
 * `sequence` and `del_flag = 0`; the flags and `read_sequence` are written
 * here only.
 *
 * Reads stay in conversations.ts and unread-counts.ts: they need no bump.
 * test/architecture/change-token-owners.test.ts keeps every domain write of
 * these rows in this file.
 */
export class ConversationStore {
  readonly #env: Pick<DomainEnv, "db">;

  constructor(env: Pick<DomainEnv, "db">) {
    this.#env = env;
  }

  /**
   * Deletes the owner's conversation (D11: a real delete, del_flag 1, with a sequence so the
   * owner's other devices sync it). @returns whether a live row was deleted (false: none, or
   * deleted already)
   */
  delete(appId: number, key: ConversationKey): Promise<boolean> {
    return this.#write(async (tx) => {
      const sequence = await nextUserSequence(tx, appId, "conversationSeq", key.owner);
      const { count } = await tx.conversationSet.updateMany({
        where: {
          appId,
          conversationId: conversationId(key.type, key.owner, key.to),
          fromId: key.owner,
          delFlag: 0,
        },
        data: { delFlag: 1, sequence: BigInt(sequence) },
      });
      return count > 0;
    });
  }

  /**
   * Sets the given top and mute flags of the owner's conversation, creating the row when there is
   * none (the original returned success without one). @returns the row's new sequence
   */
  setFlags(appId: number, key: ConversationKey, flags: ConversationFlags): Promise<number> {
    const id = conversationId(key.type, key.owner, key.to);
    return this.#write(async (tx) => {
      const sequence = await nextUserSequence(tx, appId, "conversationSeq", key.owner);
      await tx.conversationSet.upsert({
        where: { appId_conversationId: { appId, conversationId: id } },
        create: {
          ...newRow(appId, key),
          isMute: flags.isMute ?? 0,
          isTop: flags.isTop ?? 0,
          sequence: BigInt(sequence),
        },
        update: { isMute: flags.isMute, isTop: flags.isTop, sequence: BigInt(sequence) },
      });
      return sequence;
    });
  }

  /**
   * Moves the owner's read cursor up to `messageSequence`, forward only (D14: the original could
   * move it back), creating the row when there is none. A forward move takes a sequence so the
   * owner's other devices sync it; a mark at or below the cursor changes nothing (it may leave a
   * harmless gap in the counter). @returns whether the cursor moved
   */
  markReadUpTo(appId: number, key: ConversationKey, messageSequence: number): Promise<boolean> {
    const id = conversationId(key.type, key.owner, key.to);
    const read = BigInt(messageSequence);
    return this.#write(async (tx) => {
      // The owner's counter first: its row lock serialises this owner's marks, so the check
      // below cannot race another mark.
      const sequence = BigInt(await nextUserSequence(tx, appId, "conversationSeq", key.owner));
      const row = await tx.conversationSet.findUnique({
        where: { appId_conversationId: { appId, conversationId: id } },
        select: { readSequence: true },
      });
      if (row !== null && row.readSequence >= read) return false;
      await tx.conversationSet.upsert({
        where: { appId_conversationId: { appId, conversationId: id } },
        create: { ...newRow(appId, key), sequence, readSequence: read },
        update: { sequence, readSequence: read },
      });
      return true;
    });
  }

  /** Runs `change` in one transaction (core/tx.ts: retried when it loses a race). */
  async #write<T>(change: (tx: DatabaseTransaction) => Promise<T>): Promise<T> {
    return transaction(await this.#env.db(), change);
  }
}

/**
 * Creates the conversations that do not exist yet, one per owner and peer
 * (fixes D11: the original created one side only and failed on re-adds with
 * a duplicate key). Existing rows, deleted or not, are left as they are.
 * Each new row takes a sequence from its owner's conversation counter
 * (owners in sorted order, the lock order of core/sequences).
 *
 * The one conversation write on another aggregate's transaction: a new
 * friendship (friendship-store.ts) or a new member (group/group-rows.ts
 * addMembers, inside a GroupStore transaction) gets its conversation in the same
 * commit. It bumps nothing, like the rest of {@link ConversationStore}.
 */
export async function ensureConversations(tx: Tx, appId: number, keys: ConversationKey[]): Promise<void> {
  if (keys.length === 0) return;
  const ids = keys.map((k) => conversationId(k.type, k.owner, k.to));
  const existing = new Set(
    (
      await tx.conversationSet.findMany({
        where: { appId, conversationId: { in: ids } },
        select: { conversationId: true },
      })
    ).map((r) => r.conversationId),
  );
  const missing = keys
    .filter((k) => !existing.has(conversationId(k.type, k.owner, k.to)))
    .sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
  const data = [];
  for (const k of missing) {
    const sequence = await nextUserSequence(tx, appId, "conversationSeq", k.owner);
    data.push({ ...newRow(appId, k), sequence: BigInt(sequence) });
  }
  if (data.length > 0) await tx.conversationSet.createMany({ data, skipDuplicates: true });
}

/** The identity columns of a new conversation row: its app, id, type, owner and peer or group. */
function newRow(appId: number, key: ConversationKey) {
  return {
    appId,
    conversationId: conversationId(key.type, key.owner, key.to),
    conversationType: key.type,
    fromId: key.owner,
    toId: key.to,
  };
}
