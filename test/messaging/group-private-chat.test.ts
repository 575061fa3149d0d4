import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { ClientError } from "../../sdk/client-error.js";
import { type ChatDeployment, distributedChat, embeddedChat } from "./support/chat-deployments.js";
import { ADMIN } from "./support/cluster.js";

const APP = 10001;

/**
 * Group privateChat over the wire (issue 16 item 5), in both profiles, with open messaging
 * (`messaging.checkFriendship: false`, the only case it restricts anything: send-checks.ts
 * checkPrivateChat): two ordinary members who are not friends and share only a group that forbids
 * private chat get 40021 on a P2P send; the owner turning the setting off lets the next send
 * through at once (the check is not cached).
 */
describe.each([
  ["embedded (whaleshark start)", embeddedChat, "admin"],
  ["distributed (Redis, RabbitMQ, PostgreSQL)", distributedChat, ADMIN],
] as const)("group privateChat, %s", (_name, deploy, admin) => {
  let deployment: ChatDeployment;

  beforeAll(async () => {
    deployment = await deploy({ messaging: { checkFriendship: false } });
  }, 90_000);
  afterAll(async () => {
    await deployment?.close();
  });

  it("refuses a P2P send between non-friend members with 40021 until the owner allows it", async () => {
    await deployment.service(UserServiceService, admin).importUsers({
      userData: ["carol", "dave", "erin"].map((userId) => UserData.fromPartial({ userId, userType: 1 })),
    });
    const asAlice = deployment.service(GroupServiceService, "alice");
    await asAlice.createGroup({
      appId: APP,
      operater: "alice",
      groupId: "quiet",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      privateChat: 1,
      member: ["carol", "dave"].map((memberId) => GroupMemberItem.fromPartial({ memberId })),
    });
    const carol = deployment.device("carol", "carol-phone");
    await carol.connect();

    const refused = await carol.client.sendP2P({ toId: "dave", messageBody: "psst" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).code).toBe(40021);
    // a user who shares no group with carol is not affected; neither is the owner
    expect((await carol.client.sendP2P({ toId: "erin", messageBody: "hi" })).ok).toBe(true);
    expect((await carol.client.sendP2P({ toId: "alice", messageBody: "hi" })).ok).toBe(true);

    await asAlice.updateGroup({ appId: APP, operater: "alice", groupId: "quiet", privateChat: 0 });
    expect((await carol.client.sendP2P({ toId: "dave", messageBody: "now?" })).ok).toBe(true);
  }, 60_000);
});
