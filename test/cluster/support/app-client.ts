import { AppClient, importFriendships, importGroup, importUsers } from "../../../lib/app-client/index.js";
import { ADMIN_ID, APP_ID, DOMAIN_TARGET, type TestCluster } from "../../support/cluster.js";

/** Whatever signs userSigns for the test app (a TestCluster or its ClusterResources). */
export type Signer = Pick<TestCluster, "sign">;

/**
 * The app-server client (lib/app-client) acting as `userId` of the test app against `target`: a
 * domain's own `host:port`, or `zk:///whaleshark.domain` for every live domain. The cluster signs.
 */
export function appClient(cluster: Signer, userId: string, target: string): AppClient {
  return new AppClient({
    target,
    appId: APP_ID,
    identity: { userId, userSign: () => cluster.sign(userId) },
  });
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
 * Creates users, friendships and groups as the app admin would (lib/app-client's admin tasks);
 * nothing is written to the database behind the services' backs.
 * @throws Error when the domain refuses any of it
 */
export async function seed(cluster: Signer, data: Seed): Promise<void> {
  const admin = appClient(cluster, ADMIN_ID, DOMAIN_TARGET);
  try {
    await importUsers(admin, data.users, { requireAll: true });
    await importFriendships(admin, data.friends ?? []);
    for (const [groupId, [owner, ...rest]] of Object.entries(data.groups ?? {})) {
      if (owner === undefined) continue;
      // Room for members the tests add later.
      await importGroup(admin, {
        groupId,
        ownerId: owner,
        memberIds: rest,
        maxMemberCount: rest.length + 10,
      });
    }
  } finally {
    admin.close();
  }
}
