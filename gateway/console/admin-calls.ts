import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { FriendshipStatus } from "../../gen/ts/whaleshark/v1/enums.js";
import {
  FriendshipServiceService,
  ImportFriendshipsRequest,
} from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { CreateGroupRequest, GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import {
  GetUserInfoRequest,
  ImportUsersRequest,
  UserServiceService,
} from "../../gen/ts/whaleshark/v1/user_service.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { APP_ADMIN_USER_TYPE } from "../../lib/grpc/auth.js";
import type { InProcessServices } from "../../lib/grpc/in-process.js";
import type { UnaryMethod } from "../commands/internal-grpc.js";

/** Who the calls act as: an app's administrator (config `apps.<id>.adminIds`), signed with its key. */
export interface AdminIdentity {
  appId: number;
  adminId: string;
  privateKey: string;
}

/** How long a signed admin token is reused before a new one is made (it lives twice as long). */
const TOKEN_REUSE_MS = 5 * 60_000;

/**
 * Calls to the domain's public gRPC services signed as an app admin, the way an app server makes
 * them (metadata `appid`, `identifier`, `usersign`; lib/grpc/auth.ts): the console's demo login,
 * the embedded demo seeding and the `whaleshark user|friend|group` commands go through the same
 * authentication and authorization as anyone else, with no back door. In `whaleshark start` the
 * calls reach the handlers in-process; otherwise over gRPC to `target` (an address, or a
 * discovery target such as `zk:///whaleshark.domain`).
 */
export class AdminCalls {
  readonly #client: Client;
  #token: { value: string; madeAt: number } | undefined;

  constructor(
    target: string,
    private readonly identity: AdminIdentity,
    private readonly timeoutMs: number,
    private readonly inProcess?: InProcessServices,
  ) {
    this.#client = new Client(target, credentials.createInsecure(), {
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
    });
  }

  /** The app the calls are signed for. */
  get appId(): number {
    return this.identity.appId;
  }

  /** Calls `method`; rejects with the ServiceError (trailer `whaleshark-code`, lib/grpc/errors.ts). */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const metadata = this.#metadata();
    const deadline = Date.now() + this.timeoutMs;
    const local = this.inProcess?.call(method.path, method.requestSerialize(request), metadata, deadline);
    if (local !== undefined) return local.then(method.responseDeserialize);
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline },
        (error: ServiceError | null, response?: Res) => (error ? reject(error) : resolve(response as Res)),
      );
    });
  }

  close(): void {
    this.#client.close();
  }

  #metadata(): Metadata {
    const now = Date.now();
    if (this.#token === undefined || now - this.#token.madeAt > TOKEN_REUSE_MS) {
      const value = generateUserSign({
        appId: this.identity.appId,
        identifier: this.identity.adminId,
        privateKey: this.identity.privateKey,
        expireSeconds: (2 * TOKEN_REUSE_MS) / 1000,
      });
      this.#token = { value, madeAt: now };
    }
    const metadata = new Metadata();
    metadata.set("appid", String(this.identity.appId));
    metadata.set("identifier", this.identity.adminId);
    metadata.set("usersign", this.#token.value);
    return metadata;
  }
}

/** A user to create; `friendAllowType` 1 = friends at once when added (the demo's choice). */
export interface NewUser {
  userId: string;
  nickName?: string;
}

/** What happened to each requested user. */
export interface UsersResult {
  created: string[];
  existing: string[];
  refused: string[];
  /** Those of `existing` whose user_type is APP_ADMIN (100): app admins by the database. */
  admins: string[];
}

/** Most ids one ImportUsers / ImportFriendships call takes (user_service.proto). */
const BATCH = 100;

/**
 * Creates the users that do not exist yet (ImportUsers as the admin). Users are created with
 * friend_allow_type 1 (NOT_NEED), so adding one as a friend makes the friendship at once, which is
 * what a demo wants. Those ImportUsers did not create are looked up: found = existing, else refused.
 */
export async function ensureUsers(admin: AdminCalls, users: readonly NewUser[]): Promise<UsersResult> {
  const result: UsersResult = { created: [], existing: [], refused: [], admins: [] };
  for (let i = 0; i < users.length; i += BATCH) {
    const chunk = users.slice(i, i + BATCH);
    const res = await admin.call(
      UserServiceService.importUsers,
      ImportUsersRequest.fromPartial({
        appId: admin.appId,
        userData: chunk.map((u) => ({
          userId: u.userId,
          nickName: u.nickName ?? u.userId,
          friendAllowType: 1,
        })),
      }),
    );
    result.created.push(...res.successId);
    if (res.errorId.length === 0) continue;
    const found = await admin.call(
      UserServiceService.getUserInfo,
      GetUserInfoRequest.fromPartial({ appId: admin.appId, userIds: res.errorId }),
    );
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
 * Makes `a` and `b` friends both ways (ImportFriendships as the admin, status NORMAL, once per
 * direction: P2P sends check both). A direction that was not made already existed or was refused.
 */
export async function makeFriends(admin: AdminCalls, a: string, b: string): Promise<FriendLink[]> {
  const links: FriendLink[] = [];
  for (const [fromId, toId] of [
    [a, b],
    [b, a],
  ] as const) {
    const res = await admin.call(
      FriendshipServiceService.importFriendships,
      ImportFriendshipsRequest.fromPartial({
        appId: admin.appId,
        fromId,
        friendItem: [{ toId, status: FriendshipStatus.FRIENDSHIP_STATUS_NORMAL, addSource: "admin" }],
      }),
    );
    links.push({ fromId, toId, made: res.successId.includes(toId) });
  }
  return links;
}

/** A group to create, owned by `ownerId` (the admin acts as the owner, CreateGroup's rule). */
export interface NewGroup {
  name: string;
  ownerId: string;
  memberIds: readonly string[];
  /** A fixed id (kept when free); empty = generated. */
  groupId?: string;
}

/** The created group's id and each member's result (0 SUCCESS, 1 FAIL, 2 REPEAT_JOIN). */
export async function createGroup(
  admin: AdminCalls,
  group: NewGroup,
): Promise<{ groupId: string; members: Array<{ memberId: string; result: number; message: string }> }> {
  const res = await admin.call(
    GroupServiceService.createGroup,
    CreateGroupRequest.fromPartial({
      appId: admin.appId,
      operater: group.ownerId,
      ownerId: group.ownerId,
      groupId: group.groupId ?? "",
      groupName: group.name,
      member: group.memberIds.filter((id) => id !== group.ownerId).map((memberId) => ({ memberId })),
    }),
  );
  return {
    groupId: res.groupId,
    members: res.memberResults.map((m) => ({
      memberId: m.memberId,
      result: m.result,
      message: m.resultMessage,
    })),
  };
}

/** Whether a failed call never reached a server (down, wrong address, or its deadline passed). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED;
}
