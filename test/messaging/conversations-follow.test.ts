import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { eventually } from "../support/harness/eventually.js";
import { type ChatDeployment, distributedChat, embeddedChat } from "./support/chat-deployments.js";

/**
 * Conversations follow messages (issue 16 item 3, D11), in both profiles: with no conversation
 * call at all, a P2P message gives both sides their conversation, listed by the owner's next
 * incremental sync with its unread count; a conversation the owner deleted comes back, above the
 * sync cursor, with the next message.
 */
describe.each([
  ["embedded (whaleshark start)", embeddedChat],
  ["distributed (Redis, RabbitMQ, PostgreSQL)", distributedChat],
])("conversations follow messages, %s", (_name, deploy) => {
  let deployment: ChatDeployment;

  beforeAll(async () => {
    deployment = await deploy();
  }, 90_000);
  afterAll(async () => {
    await deployment?.close();
  });

  /** `owner`'s conversations changed after `cursor`, by id. */
  const changedSince = async (owner: string, cursor: number) => {
    const page = await deployment.service(ConversationServiceService, owner).syncConversations({
      appId: 10001,
      operater: owner,
      clientType: 3,
      imei: "",
      lastSequence: cursor,
      maxLimit: 100,
    });
    return { max: page.maxSequence, byId: new Map(page.dataList.map((c) => [c.conversationId, c])) };
  };

  it("moves both sides' conversations, counts unread, and revives a deleted one with the next message", async () => {
    const alice = deployment.device("alice", "alice-phone");
    await alice.connect();
    // The deployment imported alice and bob as friends, which gave each its P2P conversation
    // (issue 16: imported friendships get their rows); a message moves it past this cursor. The
    // store creating rows that do not exist is covered by services/store/consumer tests.
    const before = await changedSince("bob", 0);

    await alice.client.sendP2P({ toId: "bob", messageBody: "one" });
    await alice.client.sendP2P({ toId: "bob", messageBody: "two" });
    // The store writes after the ACK: the rows follow within its batch time.
    let bob = await changedSince("bob", before.max);
    await eventually(async () => {
      bob = await changedSince("bob", before.max);
      return bob.byId.get("0_bob_alice")?.unreadCount === 2;
    }, 15_000);
    expect(bob.byId.get("0_bob_alice")).toMatchObject({
      fromId: "bob",
      toId: "alice",
      delFlag: 0,
      unreadCount: 2,
    });
    const aliceSide = await changedSince("alice", 0);
    expect(aliceSide.byId.get("0_alice_bob")).toMatchObject({ toId: "bob", unreadCount: 0 });

    await deployment.service(ConversationServiceService, "bob").deleteConversation({
      appId: 10001,
      operater: "bob",
      clientType: 3,
      imei: "",
      conversationId: "0_bob_alice",
      fromId: "bob",
    });
    const deleted = await changedSince("bob", 0);
    expect(deleted.byId.get("0_bob_alice")?.delFlag).toBe(1);

    await alice.client.sendP2P({ toId: "bob", messageBody: "three" });
    await eventually(async () => {
      const revived = (await changedSince("bob", deleted.max)).byId.get("0_bob_alice");
      return revived?.delFlag === 0;
    }, 15_000);
  }, 60_000);
});
