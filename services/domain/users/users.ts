import type { UserData as UserRow } from "../../../gen/prisma/client.js";
import type { UserData } from "../../../gen/ts/whaleshark/v1/model.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Tx } from "../core/sequences.js";

/** A database user row as the contract's UserData: never with a password (D27). */
export function toUserData(row: UserRow): UserData {
  return {
    userId: row.userId,
    nickName: row.nickName ?? "",
    location: row.location ?? "",
    birthDay: row.birthDay ?? "",
    photo: row.photo ?? "",
    userSex: row.userSex === null ? "" : String(row.userSex),
    selfSignature: row.selfSignature ?? "",
    friendAllowType: row.friendAllowType,
    disableAddFriend: row.disableAddFriend,
    forbiddenFlag: row.forbiddenFlag,
    silentFlag: row.silentFlag,
    userType: row.userType,
    appId: row.appId,
    delFlag: row.delFlag,
    extra: row.extra ?? "",
  };
}

/** A live (not deleted) user, or null. */
export function findUser(db: Tx, appId: number, userId: string): Promise<UserRow | null> {
  return db.userData.findFirst({ where: { appId, userId, delFlag: 0 } });
}

/** A live user. @throws ImError 20001 when there is none */
export async function requireUser(db: Tx, appId: number, userId: string): Promise<UserRow> {
  const user = await findUser(db, appId, userId);
  if (user === null) throw ImError.of("USER_IS_NOT_EXIST", userId);
  return user;
}

/** The ids among `userIds` that are live users of the app. */
export async function liveUserIds(db: Tx, appId: number, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await db.userData.findMany({
    where: { appId, userId: { in: [...new Set(userIds)] }, delFlag: 0 },
    select: { userId: true },
  });
  return new Set(rows.map((r) => r.userId));
}

/**
 * The sex column from the wire's string ("1" male, "2" female): an integer,
 * null for "" (clears it).
 * @throws ImError 90001 for anything else
 */
export function parseUserSex(value: string): number | null {
  if (value.trim() === "") return null;
  if (!/^\d{1,9}$/.test(value.trim())) throw ImError.of("PARAMETER_ERROR", "user_sex must be a number");
  return Number(value.trim());
}
