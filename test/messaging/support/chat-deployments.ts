import { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../../gen/ts/whaleshark/v1/enums.js";
import {
  FriendshipServiceService,
  ImportFriendItem,
} from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupServiceService } from "../../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../../gen/ts/whaleshark/v1/user_service.js";
import { upperSnake } from "../../../lib/config/env-source.js";
import type { Config, DeepPartial } from "../../../lib/config/index.js";
import { startEmbedded } from "../../support/cli.js";
import { type Caller, grpcCaller } from "../../support/grpc-caller.js";
import { ADMIN, APP_ID, APP_KEY } from "../../support/harness/index.js";
import { startCluster } from "./cluster.js";
import { TestDevice } from "./device.js";

/**
 * The same small chat, alice and bob (friends, both in private group "club"), on either profile,
 * for tests that run one scenario on both: `whaleshark start` as a child process (PGlite, the bus
 * journal) or the distributed roles on Redis, RabbitMQ and PostgreSQL (startCluster).
 */
export interface ChatDeployment {
  /** An SDK device of `userId` (not connected yet; closed by `close()`). */
  device(userId: string, imei: string): TestDevice;
  /** A client of one of the domain's services, signed as `userId`. */
  service<D extends object>(definition: D, userId: string): Caller<D>;
  close(): Promise<void>;
}

const APP = APP_ID;
const KEY = APP_KEY;

/** `whaleshark start` with alice, bob and "club"; `config` as the config section would be written. */
export async function embeddedChat(config: DeepPartial<Config> = {}): Promise<ChatDeployment> {
  const started = await startEmbedded({ appId: APP, privateKey: KEY, adminIds: [ADMIN] }, envOf(config));
  const channels: Array<{ close(): void }> = [];
  const devices: TestDevice[] = [];
  const deployment: ChatDeployment = {
    device(userId, imei) {
      const endpoint = () => ({ kind: "tcp" as const, port: started.tcpPort });
      const d = new TestDevice({ appId: APP, privateKey: KEY, userId, imei, clientType: 3, endpoint });
      devices.push(d);
      return d;
    },
    service(definition, userId) {
      const c = grpcCaller(started.domain, definition, { appId: APP, privateKey: KEY, userId });
      channels.push(c);
      return c.call;
    },
    async close() {
      for (const d of devices) d.close();
      for (const c of channels) c.close();
      if (started.cli.child.exitCode === null) started.cli.child.kill("SIGKILL");
    },
  };
  try {
    await deployment.service(UserServiceService, ADMIN).importUsers({
      userData: ["alice", "bob"].map((userId) => UserData.fromPartial({ userId, userType: 1 })),
    });
    for (const [fromId, toId] of [
      ["alice", "bob"],
      ["bob", "alice"],
    ] as const) {
      await deployment.service(FriendshipServiceService, ADMIN).importFriendships({
        fromId,
        friendItem: [ImportFriendItem.fromPartial({ toId })],
      });
    }
    await createClub(deployment);
    return deployment;
  } catch (error) {
    await deployment.close();
    throw error;
  }
}

/**
 * The distributed roles (startCluster) with alice, bob and "club"; devices on the WebSocket port.
 * `redisUrl` puts the kv on another Redis than the shared test server, e.g. a test Redis Cluster
 * (with `redis: { cluster: true }` in `config`; lib/testing/redis-cluster.ts).
 */
export async function distributedChat(
  config: DeepPartial<Config> = {},
  opts: { redisUrl?: string } = {},
): Promise<ChatDeployment> {
  const cluster = await startCluster({ overrides: config, redisUrl: opts.redisUrl });
  const deployment: ChatDeployment = {
    device: (userId, imei) =>
      cluster.device(userId, imei, { clientType: 3, endpoint: () => cluster.endpoint(0, "ws") }),
    service: (definition, userId) => cluster.domainService(definition, userId),
    close: () => cluster.close(),
  };
  try {
    await cluster.users(["alice", "bob"]);
    await cluster.friends(["alice", "bob"]);
    await createClub(deployment);
    return deployment;
  } catch (error) {
    await deployment.close();
    throw error;
  }
}

async function createClub(deployment: ChatDeployment): Promise<void> {
  await deployment.service(GroupServiceService, "alice").createGroup({
    groupId: "club",
    groupType: GroupType.GROUP_TYPE_PRIVATE,
    member: [GroupMemberItem.fromPartial({ memberId: "bob" })],
  });
}

/** A config fragment as WHALESHARK_<SECTION>__<KEY> variables (lib/config/env-source.ts). */
function envOf(config: DeepPartial<Config>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [section, values] of Object.entries(config)) {
    if (typeof values !== "object" || values === null) continue;
    for (const [key, value] of Object.entries(values)) {
      env[`WHALESHARK_${upperSnake(section)}__${upperSnake(key)}`] = String(value);
    }
  }
  return env;
}
