import type { Prisma } from "../../../gen/prisma/client.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import type { DomainEnv } from "../core/env.js";
import { transaction } from "../core/tx.js";

/**
 * The one way to change a group's rows (its im_group row and its member
 * rows) and the one place that bumps the group's change token
 * (cache/change-tokens.ts), under which the send path caches the group and
 * the sender's member row (messaging/send-permissions.ts) and the push path
 * the member list (messaging/group-members.ts).
 *
 * A group write reads the rows it changes in the same transaction (roles,
 * status, the member limit), so the rules run inside {@link GroupStore.change}'s
 * transaction and the row helpers (groups.ts: addMembers, bumpGroup) take its
 * `tx`; the store owns the transaction's boundary, so the bump follows every
 * commit without a list of which handlers write. A group's sync sequence
 * (groups.ts bumpGroup) is a column, taken inside the transaction; the change
 * token is kv, bumped after it. test/architecture/change-token-owners.test.ts
 * keeps group writes inside these transactions.
 */
export class GroupStore {
  readonly #env: Pick<DomainEnv, "db" | "changes">;

  constructor(env: Pick<DomainEnv, "db" | "changes">) {
    this.#env = env;
  }

  /**
   * Runs `change` in one transaction (core/tx.ts: retried when it loses a race), then bumps the
   * change token of `groupId`, also when it failed (it may have committed first; a needless bump
   * costs one reload). A failed bump fails the call, so the caller retries rather than leave
   * caches stale.
   */
  async change<T>(
    appId: number,
    groupId: string,
    change: (tx: Prisma.TransactionClient) => Promise<T>,
  ): Promise<T> {
    const db = await this.#env.db();
    return this.#env.changes.around([ChangeTokens.group(appId, groupId)], () => transaction(db, change));
  }
}
