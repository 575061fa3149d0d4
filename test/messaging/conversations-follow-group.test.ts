import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { eventually } from "../support/harness/eventually.js";
import { type ChatDeployment, distributedChat, embeddedChat } from "./support/chat-deployments.js";
import { ADMIN } from "./support/cluster.js";

const APP = 10001;
/** Short, so the test waits little; the default is 1000 ms. */
const FLUSH_MS = 200;

/**
 * Group conversations follow messages (issue 16 item 3), in both profiles: with no conversation
 * call at all, group messages move every current member's group conversation above their sync
 * cursor with its unread count (0 for the sender), bring back one a member deleted, and leave a
 * member who left the group alone.
 */
describe.each([
  // each profile's configured app admin (chat-deployments.ts, cluster.ts)
  ["embedded (whaleshark start)", embeddedChat, "admin"],
  ["distributed (Redis, RabbitMQ, PostgreSQL)", distributedChat, ADMIN],
] as const)("group conversations follow messages, %s", (_name, deploy, admin) => {
  let deployment: ChatDeployment;

  beforeAll(async () => {
    deployment = await deploy({ store: { groupConversationFlushMs: FLUSH_MS } });
  }, 90_000);
  afterAll(async () => {
    await deployment?.close();
  });

  const base = (owner: string) => ({ appId: APP, operater: owner, clientType: 3, imei: "" });
  /** `owner`'s conversations changed after `cursor`, by id. */
  const changedSince = async (owner: string, cursor: number) => {
    const page = await deployment
      .service(ConversationServiceService, owner)
      .syncConversations({ ...base(owner), lastSequence: cursor, maxLimit: 100 });
    return { max: page.maxSequence, byId: new Map(page.dataList.map((c) => [c.conversationId, c])) };
  };

  it("moves the members' rows with unread counts, revives a deleted one, skips a leaver", async () => {
    await deployment.service(UserServiceService, admin).importUsers({
      userData: ["carol", "dave"].map((userId) => UserData.fromPartial({ userId, userType: 1 })),
    });
    await deployment.service(GroupServiceService, "alice").createGroup({
      ...base("alice"),
      groupId: "crew",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: ["bob", "carol", "dave"].map((memberId) => GroupMemberItem.fromPartial({ memberId })),
    });
    await deployment.service(ConversationServiceService, "carol").deleteConversation({
      ...base("carol"),
      conversationId: "1_carol_crew",
      fromId: "carol",
    });
    await deployment
      .service(GroupMemberServiceService, "dave")
      .leaveGroup({ ...base("dave"), groupId: "crew" });
    const cursor = new Map<string, number>();
    for (const user of ["alice", "bob", "carol", "dave"]) cursor.set(user, (await changedSince(user, 0)).max);
    expect((await changedSince("carol", 0)).byId.get("1_carol_crew")?.delFlag).toBe(1);
    // joining gave dave his row (groups.ts); leaving keeps it where it was
    expect((await changedSince("dave", 0)).byId.has("1_dave_crew")).toBe(true);

    const alice = deployment.device("alice", "alice-phone");
    await alice.connect();
    await alice.client.sendGroup({ groupId: "crew", messageBody: "one" });
    const second = await alice.client.sendGroup({ groupId: "crew", messageBody: "two" });

    // The store writes after the ACK and moves group rows once per flush: they follow shortly.
    await eventually(async () => {
      const bob = (await changedSince("bob", cursor.get("bob") ?? 0)).byId.get("1_bob_crew");
      const carol = (await changedSince("carol", cursor.get("carol") ?? 0)).byId.get("1_carol_crew");
      return bob?.unreadCount === 2 && carol?.unreadCount === 2;
    }, 15_000);
    const bob = await changedSince("bob", cursor.get("bob") ?? 0);
    expect(bob.byId.get("1_bob_crew")).toMatchObject({
      conversationType: 1,
      fromId: "bob",
      toId: "crew",
      delFlag: 0,
      unreadCount: 2,
    });
    expect(bob.max).toBeGreaterThan(cursor.get("bob") ?? 0);
    const carol = await changedSince("carol", cursor.get("carol") ?? 0);
    expect(carol.byId.get("1_carol_crew")).toMatchObject({ delFlag: 0, unreadCount: 2 });
    const aliceSide = await changedSince("alice", cursor.get("alice") ?? 0);
    expect(aliceSide.byId.get("1_alice_crew")).toMatchObject({ toId: "crew", unreadCount: 0 });
    // The leaver's row stayed below their cursor, after several flush periods.
    await new Promise((r) => setTimeout(r, FLUSH_MS * 3));
    const dave = await changedSince("dave", cursor.get("dave") ?? 0);
    expect(dave.byId.has("1_dave_crew")).toBe(false);

    // Reading moves the unread count down; the next message moves the row again, one unread.
    await deployment.service(ConversationServiceService, "bob").markRead({
      ...base("bob"),
      conversationType: 1,
      fromId: "bob",
      groupId: "crew",
      messageSequence: second.data?.messageSequence ?? 0,
    });
    const read = await changedSince("bob", 0);
    expect(read.byId.get("1_bob_crew")?.unreadCount).toBe(0);
    await alice.client.sendGroup({ groupId: "crew", messageBody: "three" });
    await eventually(async () => {
      const again = (await changedSince("bob", read.max)).byId.get("1_bob_crew");
      return again?.unreadCount === 1;
    }, 15_000);
  }, 90_000);
});
