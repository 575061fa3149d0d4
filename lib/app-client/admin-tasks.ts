import { status } from "@grpc/grpc-js";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { FriendshipStatus, GroupMemberRole, GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { ImportFriendItem } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { APP_ADMIN_USER_TYPE } from "../grpc/auth-metadata.js";
import type { AppClient } from "./client.js";

/**
 * What app servers, the CLI, the console, the bench and the tests do as an app admin, built on
 * AppClient's typed calls. Nothing here writes behind the services' backs: every step is a
 * public gRPC call that authenticates and authorizes like any other.
 */

/** Most ids one ImportUsers / ImportFriendships call takes (user_service.proto). */
export const IMPORT_BATCH = 100;
/** Member rows per ImportGroupMembers call. */
export const MEMBER_BATCH = 500;

/** A user to create. */
export interface NewUser {
  userId: string;
  nickName?: string;
  /** 1 (NOT_NEED): adding this user as a friend makes the friendship at once (what a demo wants). */
  friendAllowType?: number;
}

/** How many calls run at once (1: one after the other). */
export interface Parallelism {
  parallel?: number;
}

async function inParallel<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const asUser = (u: string | NewUser): NewUser => (typeof u === "string" ? { userId: u } : u);

/**
 * ImportUsers in batches of 100: the ids it created and those it refused (already there, or
 * invalid). Users already there are not an error unless `requireAll` (fresh users expected: a
 * set-up that must start clean); see {@link ensureUsers} to tell them apart.
 * @throws Error listing refused ids, with `requireAll`
 */
export async function importUsers(
  client: AppClient,
  users: ReadonlyArray<string | NewUser>,
  { parallel = 1, requireAll = false }: Parallelism & { requireAll?: boolean } = {},
): Promise<{ successId: string[]; errorId: string[] }> {
  const out = { successId: [] as string[], errorId: [] as string[] };
  await inParallel(chunks(users.map(asUser), IMPORT_BATCH), parallel, async (batch) => {
    const res = await client.users.importUsers({
      appId: client.appId,
      userData: batch.map((u) =>
        UserData.fromPartial({
          userId: u.userId,
          nickName: u.nickName ?? u.userId,
          ...(u.friendAllowType === undefined ? {} : { friendAllowType: u.friendAllowType }),
        }),
      ),
    });
    out.successId.push(...res.successId);
    out.errorId.push(...res.errorId);
  });
  if (requireAll && out.errorId.length > 0) {
    const more = out.errorId.length > 3 ? ", …" : "";
    throw new Error(
      `ImportUsers refused ${out.errorId.length}: ${out.errorId.slice(0, 3).join(", ")}${more}`,
    );
  }
  return out;
}

/** What happened to each requested user. */
export interface UsersResult {
  created: string[];
  existing: string[];
  refused: string[];
  /** Those of `existing` whose user_type is APP_ADMIN (100): app admins by the database. */
  admins: string[];
}

/**
 * Creates the users that do not exist yet; those ImportUsers did not create are looked up
 * (GetUserInfo): found = existing, else refused.
 */
export async function ensureUsers(client: AppClient, users: readonly NewUser[]): Promise<UsersResult> {
  const result: UsersResult = { created: [], existing: [], refused: [], admins: [] };
  for (const batch of chunks(users, IMPORT_BATCH)) {
    const res = await importUsers(client, batch);
    result.created.push(...res.successId);
    if (res.errorId.length === 0) continue;
    const found = await client.users.getUserInfo({ appId: client.appId, userIds: res.errorId });
    const existing = new Set(found.userDataItem.map((u) => u.userId));
    for (const id of res.errorId) (existing.has(id) ? result.existing : result.refused).push(id);
    for (const u of found.userDataItem) if (u.userType === APP_ADMIN_USER_TYPE) result.admins.push(u.userId);
  }
  return result;
}

/** One direction of a friendship and whether it was made now. */
export interface FriendLink {
  fromId: string;
  toId: string;
  made: boolean;
}

/**
 * Makes `a` and `b` friends both ways (ImportFriendships, status NORMAL, once per direction: P2P
 * sends check both). A direction that was not made already existed or was refused.
 */
export async function makeFriends(client: AppClient, a: string, b: string): Promise<FriendLink[]> {
  const links: FriendLink[] = [];
  for (const [fromId, toId] of [
    [a, b],
    [b, a],
  ] as const) {
    const res = await client.friendships.importFriendships({
      appId: client.appId,
      fromId,
      friendItem: [
        ImportFriendItem.fromPartial({
          toId,
          status: FriendshipStatus.FRIENDSHIP_STATUS_NORMAL,
          addSource: "admin",
        }),
      ],
    });
    links.push({ fromId, toId, made: res.successId.includes(toId) });
  }
  return links;
}

/**
 * Makes every pair friends both ways, `parallel` pairs at a time.
 * @throws Error naming the first direction that was not made (refused, or already friends)
 */
export async function importFriendships(
  client: AppClient,
  pairs: ReadonlyArray<readonly [string, string]>,
  { parallel = 1 }: Parallelism = {},
): Promise<void> {
  await inParallel(pairs, parallel, async ([a, b]) => {
    const missed = (await makeFriends(client, a, b)).find((l) => !l.made);
    if (missed) throw new Error(`ImportFriendships ${missed.fromId} → ${missed.toId} not made`);
  });
}

/** A group imported as existing data (no notifications), owned by `ownerId`. */
export interface ImportedGroup {
  groupId: string;
  ownerId: string;
  /** Members besides the owner (the owner may be listed too). */
  memberIds: readonly string[];
  /** Default: the members plus the owner. */
  maxMemberCount?: number;
}

/**
 * ImportGroup (private), then ImportGroupMembers in batches of 500.
 * @throws Error when any member row fails
 */
export async function importGroup(client: AppClient, group: ImportedGroup): Promise<void> {
  const others = group.memberIds.filter((id) => id !== group.ownerId);
  await client.groups.importGroup({
    appId: client.appId,
    groupId: group.groupId,
    groupName: group.groupId,
    ownerId: group.ownerId,
    groupType: GroupType.GROUP_TYPE_PRIVATE,
    maxMemberCount: group.maxMemberCount ?? others.length + 1,
  });
  const members = [
    { memberId: group.ownerId, role: GroupMemberRole.GROUP_MEMBER_ROLE_OWNER },
    ...others.map((memberId) => ({ memberId, role: GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY })),
  ];
  for (const batch of chunks(members, MEMBER_BATCH)) {
    const res = await client.groupMembers.importGroupMembers({
      appId: client.appId,
      groupId: group.groupId,
      members: batch.map((m) => GroupMemberItem.fromPartial(m)),
    });
    const failed = res.results.filter((x) => x.result !== 0);
    if (failed.length > 0) {
      throw new Error(
        `ImportGroupMembers ${group.groupId}: ${failed.length} failed, e.g. ${failed[0]?.resultMessage}`,
      );
    }
  }
}

/** A group to create, owned by `ownerId` (the admin acts as the owner, CreateGroup's rule). */
export interface NewGroup {
  name: string;
  ownerId: string;
  memberIds: readonly string[];
  /** A fixed id (kept when free); empty = generated. */
  groupId?: string;
}

/** CreateGroup: the created group's id and each member's result (0 SUCCESS, 1 FAIL, 2 REPEAT_JOIN). */
export async function createGroup(
  client: AppClient,
  group: NewGroup,
): Promise<{ groupId: string; members: Array<{ memberId: string; result: number; message: string }> }> {
  const res = await client.groups.createGroup({
    appId: client.appId,
    operater: group.ownerId,
    ownerId: group.ownerId,
    groupId: group.groupId ?? "",
    groupName: group.name,
    member: group.memberIds
      .filter((id) => id !== group.ownerId)
      .map((memberId) => GroupMemberItem.fromPartial({ memberId })),
  });
  return {
    groupId: res.groupId,
    members: res.memberResults.map((m) => ({
      memberId: m.memberId,
      result: m.result,
      message: m.resultMessage,
    })),
  };
}

/** Whether a failed call never got an answer from a server (down, wrong address, or its deadline passed). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED;
}
