import type { Prisma } from "../../../gen/prisma/client.js";
import type { UserData } from "../../../gen/ts/whaleshark/v1/model.js";
import { ImError } from "../../../lib/errors/index.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import type { DomainEnv } from "../core/env.js";
import { required } from "../core/guards.js";
import { findUser, parseUserSex } from "./users.js";

/** What {@link UserStore.importMany} did: the ids stored and the ids refused, in request order. */
export interface ImportedUsers {
  successId: string[];
  errorId: string[];
}

/**
 * Every write of user rows that the send path reads (spec §6.3 #1, #4, #7):
 * imports, deletes and modifications, including the forbidden and silent
 * flags. A user row belongs to its user's change-token scope
 * (cache/change-tokens.ts), under which messaging/send-permissions.ts caches
 * it, so each method bumps the scope of every user it may have changed once
 * its write is over, also when it failed (it may have committed first).
 * The one user-row write outside: the token cut-off of token-revocations.ts,
 * a column no cache holds. Reads stay in users.ts: they need no bump.
 * test/architecture/change-token-owners.test.ts keeps writes and bumps here.
 */
export class UserStore {
  readonly #env: Pick<DomainEnv, "db" | "changes">;

  constructor(env: Pick<DomainEnv, "db" | "changes">) {
    this.#env = env;
  }

  /**
   * Creates one user per item, each on its own (one refused row does not stop the rest), then
   * bumps every named user: a send checked before the import may have cached "no such user".
   * `refused` hears why an item was not stored.
   */
  async importMany(
    appId: number,
    items: readonly UserData[],
    refused: (userId: string, error: unknown) => void,
  ): Promise<ImportedUsers> {
    const db = await this.#env.db();
    const result: ImportedUsers = { successId: [], errorId: [] };
    await this.#write(
      appId,
      items.map((u) => u.userId),
      async () => {
        for (const item of items) {
          try {
            required(item.userId, "user_id");
            await db.userData.create({
              data: {
                appId,
                userId: item.userId,
                nickName: item.nickName || null,
                location: item.location || null,
                birthDay: item.birthDay || null,
                photo: item.photo || null,
                userSex: parseUserSex(item.userSex),
                selfSignature: item.selfSignature || null,
                friendAllowType: item.friendAllowType || 1,
                disableAddFriend: item.disableAddFriend,
                forbiddenFlag: item.forbiddenFlag,
                silentFlag: item.silentFlag,
                userType: item.userType || 1,
                extra: item.extra || null,
              },
            });
            result.successId.push(item.userId);
          } catch (error) {
            refused(item.userId, error);
            result.errorId.push(item.userId);
          }
        }
      },
    );
    return result;
  }

  /** Marks the live users among `userIds` deleted. @returns those that were live */
  async markDeleted(appId: number, userIds: readonly string[]): Promise<Set<string>> {
    const db = await this.#env.db();
    const live = await db.userData.findMany({
      where: { appId, userId: { in: [...new Set(userIds)] }, delFlag: 0 },
      select: { userId: true },
    });
    const found = new Set(live.map((u) => u.userId));
    await this.#write(appId, found, () =>
      db.userData.updateMany({
        where: { appId, userId: { in: [...found] }, delFlag: 0 },
        data: { delFlag: 1 },
      }),
    );
    return found;
  }

  /**
   * Changes the given columns of a live user (the caller has checked who may change which).
   * @throws ImError 20001 when the user is missing or deleted, 20003 when the row changed under it
   */
  async modify(appId: number, userId: string, data: Prisma.UserDataUpdateManyMutationInput): Promise<void> {
    const db = await this.#env.db();
    if ((await findUser(db, appId, userId)) === null) throw ImError.of("USER_IS_NOT_EXIST", userId);
    const { count } = await this.#write(appId, [userId], () =>
      db.userData.updateMany({ where: { appId, userId, delFlag: 0 }, data }),
    );
    if (count !== 1) throw ImError.of("MODIFY_USER_ERROR");
  }

  /** Runs `change`, then bumps the scopes of `userIds`. */
  #write<T>(appId: number, userIds: Iterable<string>, change: () => Promise<T>): Promise<T> {
    const scopes = [...new Set(userIds)].map((u) => ChangeTokens.user(appId, u));
    return this.#env.changes.around(scopes, change);
  }
}
