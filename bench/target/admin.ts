import * as grpc from "@grpc/grpc-js";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupMemberRole, GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendshipServiceService, ImportFriendItem } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { AUTH_METADATA } from "../../lib/grpc/auth.js";

/** One unary method of a generated grpc-js service definition. */
interface MethodDefinition<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseDeserialize(bytes: Buffer): Res;
}

/** Who the admin is and where the domain listens. */
export interface AdminOptions {
  /** The domain's gRPC address, host:port. */
  address: string;
  appId: number;
  privateKey: string;
  /** A user id listed in the app's `adminIds` (config), so app-admin-only calls pass (D4). */
  adminId: string;
}

/** Calls per batch the domain allows (ImportUsers and ImportFriendships take at most 100). */
const IMPORT_BATCH = 100;
/** Member rows per ImportGroupMembers call. */
const MEMBER_BATCH = 500;
/** Concurrent set-up calls: enough to hide round trips, few enough not to swamp a 2-core box. */
const PARALLEL = 4;

async function inParallel<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Sets up benchmark data through the domain's own gRPC services, as an app admin would
 * (common.proto §2 metadata `appid` / `identifier` / `usersign`): users, friendships (so P2P sends
 * pass the default `messaging.checkFriendship`), and a group with its members. Nothing is written
 * to the database behind the services' backs.
 */
export class BenchAdmin {
  readonly #client: grpc.Client;
  readonly #metadata = new grpc.Metadata();

  constructor(options: AdminOptions) {
    this.#client = new grpc.Client(options.address, grpc.credentials.createInsecure());
    this.#metadata.set(AUTH_METADATA.appId, String(options.appId));
    this.#metadata.set(AUTH_METADATA.identifier, options.adminId);
    const sign = generateUserSign({
      appId: options.appId,
      identifier: options.adminId,
      privateKey: options.privateKey,
      expireSeconds: 86_400,
    });
    this.#metadata.set(AUTH_METADATA.userSign, sign);
  }

  #call<Req, Res>(method: MethodDefinition<Req, Res>, request: Partial<Req>): Promise<Res> {
    const full = { ...method.requestDeserialize(Buffer.alloc(0)), ...request } as Req;
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        full,
        this.#metadata,
        { deadline: Date.now() + 60_000 },
        (error, response) => (error || response === undefined ? reject(error) : resolve(response)),
      );
    });
  }

  /** Creates the users (ImportUsers, 100 per call). @throws when any id is refused */
  async importUsers(userIds: string[]): Promise<void> {
    await inParallel(chunks(userIds, IMPORT_BATCH), PARALLEL, async (batch) => {
      const r = await this.#call(UserServiceService.importUsers, {
        userData: batch.map((userId) => UserData.fromPartial({ userId, nickName: userId })),
      });
      if (r.errorId.length > 0) throw new Error(`ImportUsers refused ${r.errorId.slice(0, 3).join(", ")}…`);
    });
  }

  /** Makes each pair friends both ways (ImportFriendships, one row per direction). */
  async importFriendships(pairs: Array<[string, string]>): Promise<void> {
    const rows = pairs.flatMap(([a, b]) => [
      [a, b],
      [b, a],
    ]);
    await inParallel(rows, PARALLEL, async ([fromId, toId]) => {
      const r = await this.#call(FriendshipServiceService.importFriendships, {
        fromId,
        friendItem: [ImportFriendItem.fromPartial({ toId })],
      });
      if (r.errorId.length > 0) throw new Error(`ImportFriendships ${fromId} → ${toId} refused`);
    });
  }

  /**
   * Creates group `groupId` owned by `ownerId` with `memberIds` (ImportGroup, then
   * ImportGroupMembers in batches: no notifications, as an import of existing data).
   */
  async importGroup(groupId: string, ownerId: string, memberIds: string[]): Promise<void> {
    await this.#call(GroupServiceService.importGroup, {
      groupId,
      groupName: groupId,
      ownerId,
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      maxMemberCount: memberIds.length + 1,
    });
    const members = [
      GroupMemberItem.fromPartial({ memberId: ownerId, role: GroupMemberRole.GROUP_MEMBER_ROLE_OWNER }),
      ...memberIds
        .filter((id) => id !== ownerId)
        .map((memberId) =>
          GroupMemberItem.fromPartial({ memberId, role: GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY }),
        ),
    ];
    await inParallel(chunks(members, MEMBER_BATCH), 1, async (batch) => {
      const r = await this.#call(GroupMemberServiceService.importGroupMembers, {
        groupId,
        members: batch,
      });
      const failed = r.results.filter((x) => x.result !== 0);
      if (failed.length > 0) {
        throw new Error(`ImportGroupMembers: ${failed.length} failed, e.g. ${failed[0]?.resultMessage}`);
      }
    });
  }

  /** Closes the channel. */
  close(): void {
    this.#client.close();
  }
}
