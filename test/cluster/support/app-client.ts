import * as grpc from "@grpc/grpc-js";
import { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import { GroupMemberRole, GroupType } from "../../../gen/ts/whaleshark/v1/enums.js";
import {
  FriendshipServiceService,
  ImportFriendItem,
} from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../../gen/ts/whaleshark/v1/user_service.js";
import { AUTH_METADATA } from "../../../lib/grpc/auth.js";
import { ADMIN_ID, APP_ID, DOMAIN_TARGET, type TestCluster } from "../../support/cluster.js";

/** Whatever signs userSigns for the test app (a TestCluster or its ClusterResources). */
export type Signer = Pick<TestCluster, "sign">;

/** One unary method of a generated grpc-js service definition. */
export interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseDeserialize(bytes: Buffer): Res;
}

/**
 * App-facing gRPC calls as one user (common.proto §2: metadata `appid`, `identifier`, `usersign`)
 * to `target`: a domain's own `host:port`, or `zk:///whaleshark.domain` for every live domain.
 */
export class AppClient {
  readonly #client: grpc.Client;
  readonly #metadata = new grpc.Metadata();

  constructor(cluster: Signer, userId: string, target: string) {
    this.#client = new grpc.Client(target, grpc.credentials.createInsecure());
    this.#metadata.set(AUTH_METADATA.appId, String(APP_ID));
    this.#metadata.set(AUTH_METADATA.identifier, userId);
    this.#metadata.set(AUTH_METADATA.userSign, cluster.sign(userId));
  }

  /** Calls `method` with `request` over the defaults of an empty message. */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Partial<Req>, timeoutMs = 10_000): Promise<Res> {
    const full = { ...method.requestDeserialize(Buffer.alloc(0)), ...request } as Req;
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        full,
        this.#metadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) => (error || response === undefined ? reject(error) : resolve(response)),
      );
    });
  }

  /** Closes the channel. */
  close(): void {
    this.#client.close();
  }
}

/** What {@link seed} creates through the domain's own services. */
export interface Seed {
  users: string[];
  /** Pairs made friends both ways (P2P sends check friendship by default). */
  friends?: Array<[string, string]>;
  /** Private groups: the first member owns it. */
  groups?: Record<string, string[]>;
}

/**
 * Creates users, friendships and groups as the app admin would, through the domain's gRPC
 * services (ImportUsers, ImportFriendships, ImportGroup, ImportGroupMembers); nothing is written
 * to the database behind their backs.
 * @throws Error when the domain refuses any of it
 */
export async function seed(cluster: Signer, data: Seed): Promise<void> {
  const admin = new AppClient(cluster, ADMIN_ID, DOMAIN_TARGET);
  try {
    const users = await admin.call(UserServiceService.importUsers, {
      userData: data.users.map((userId) => UserData.fromPartial({ userId, nickName: userId })),
    });
    if (users.errorId.length > 0) throw new Error(`ImportUsers refused ${users.errorId.join(", ")}`);
    for (const [a, b] of data.friends ?? []) {
      for (const [fromId, toId] of [
        [a, b],
        [b, a],
      ] as const) {
        const r = await admin.call(FriendshipServiceService.importFriendships, {
          fromId,
          friendItem: [ImportFriendItem.fromPartial({ toId })],
        });
        if (r.errorId.length > 0) throw new Error(`ImportFriendships ${fromId} → ${toId} refused`);
      }
    }
    for (const [groupId, [owner, ...rest]] of Object.entries(data.groups ?? {})) {
      if (owner === undefined) continue;
      await admin.call(GroupServiceService.importGroup, {
        groupId,
        groupName: groupId,
        ownerId: owner,
        groupType: GroupType.GROUP_TYPE_PRIVATE,
        maxMemberCount: rest.length + 10,
      });
      const r = await admin.call(GroupMemberServiceService.importGroupMembers, {
        groupId,
        members: [
          GroupMemberItem.fromPartial({ memberId: owner, role: GroupMemberRole.GROUP_MEMBER_ROLE_OWNER }),
          ...rest.map((memberId) =>
            GroupMemberItem.fromPartial({ memberId, role: GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY }),
          ),
        ],
      });
      const failed = r.results.filter((x) => x.result !== 0);
      if (failed.length > 0) throw new Error(`ImportGroupMembers ${groupId}: ${failed[0]?.resultMessage}`);
    }
  } finally {
    admin.close();
  }
}
