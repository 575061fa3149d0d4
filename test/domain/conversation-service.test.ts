import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { ConversationType } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { APP_ID, type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;
let key = 1n;
beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(() => h?.close());

/** Two friends (with their conversations), both online on web and ios. */
async function friends(prefix: string) {
  const a = h.id(`${prefix}-a`);
  const b = h.id(`${prefix}-b`);
  await h.users([a, b]);
  for (const u of [a, b]) {
    await h.online(u, 1, "web");
    await h.online(u, 2, "ios");
  }
  await h.as(FriendshipServiceService, a).addFriend({ toItem: { toId: b } });
  await h.pushes();
  return { a, b, asA: h.as(ConversationServiceService, a), asB: h.as(ConversationServiceService, b) };
}

/** Stores a P2P message the way the store does: one body, one history row per owner. */
async function p2p(from: string, to: string, sequence: number) {
  const messageKey = BigInt(Date.now()) * 1000n + key++;
  await h.db.messageBody.create({
    data: {
      messageKey,
      appId: APP_ID,
      conversationType: 0,
      fromId: from,
      toId: to,
      messageId: `m-${messageKey}`,
      messageSequence: BigInt(sequence),
      messageBody: "hi",
      messageTime: 1n,
      createTime: 1n,
    },
  });
  for (const [owner, peer] of [
    [from, to],
    [to, from],
  ] as const) {
    await h.db.messageHistory.create({
      data: {
        appId: APP_ID,
        ownerId: owner,
        peerId: peer,
        fromId: from,
        toId: to,
        messageKey,
        sequence: BigInt(sequence),
        messageTime: 1n,
        createTime: 1n,
      },
    });
  }
}

/** Stores a group message the way the store does: one body, one group history row. */
async function groupMessage(groupId: string, from: string, sequence: number) {
  const messageKey = BigInt(Date.now()) * 1000n + key++;
  await h.db.messageBody.create({
    data: {
      messageKey,
      appId: APP_ID,
      conversationType: 1,
      fromId: from,
      toId: groupId,
      messageId: `g-${messageKey}`,
      messageSequence: BigInt(sequence),
      messageBody: "hi all",
      messageTime: 1n,
      createTime: 1n,
    },
  });
  await h.db.groupMessageHistory.create({
    data: {
      appId: APP_ID,
      groupId,
      fromId: from,
      messageKey,
      sequence: BigInt(sequence),
      messageTime: 1n,
      createTime: 1n,
    },
  });
}

describe("ConversationService", () => {
  it("pins and mutes (50000 without flags or for another's id), pushes 5001", async () => {
    const { a, b, asA } = await friends("upd");
    const id = `0_${a}_${b}`;
    await asA.updateConversation({ conversationId: id, isTop: 1, clientType: 1, imei: "web" });
    const row = await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: id } });
    expect(row).toMatchObject({ isTop: 1, isMute: 0 });
    const pushes = await h.pushes();
    expect(pushes).toEqual([
      {
        userId: a,
        imei: "ios",
        command: 5001,
        data: { conversationId: id, conversationType: 0, isTop: 1, sequence: Number(row.sequence) },
      },
    ]);
    await expectCode(asA.updateConversation({ conversationId: id }), 50000);
    await expectCode(asA.updateConversation({ conversationId: `0_${b}_${a}`, isMute: 1 }), 50000);
    await expectCode(asA.updateConversation({ conversationId: id, isMute: 5 }), 50000);
    // A well-formed id without a row gets one.
    await asA.updateConversation({ conversationId: `1_${a}_somegroup`, isMute: 1 });
    expect(
      await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: `1_${a}_somegroup` } }),
    ).toMatchObject({
      conversationType: 1,
      toId: "somegroup",
      isMute: 1,
    });
    await h.pushes();
  });

  it("deletes for real (D11), pushes 5000 to the other devices, and syncs the delete", async () => {
    const { a, b, asA } = await friends("del");
    const id = `0_${a}_${b}`;
    await asA.deleteConversation({ conversationId: id, clientType: 2, imei: "ios" });
    expect((await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: id } })).delFlag).toBe(1);
    expect(await h.pushes()).toEqual([
      { userId: a, imei: "web", command: 5000, data: { conversationId: id } },
    ]);
    expect(
      (await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: `0_${b}_${a}` } })).delFlag,
    ).toBe(0);
    const sync = await asA.syncConversations({});
    expect(sync.dataList.map((c) => [c.conversationId, c.delFlag])).toEqual([[id, 1]]);
    await asA.deleteConversation({ conversationId: id }); // already deleted: nothing to push
    expect(await h.pushes()).toEqual([]);
    await expectCode(asA.deleteConversation({ conversationId: `0_${b}_${a}` }), 50000);
  });

  it("marks read forward only (D14), with 1053 to the reader's other devices and 1054 to the peer", async () => {
    const { a, b, asA } = await friends("read");
    await p2p(b, a, 5);
    await asA.markRead({
      toId: b,
      conversationType: ConversationType.CONVERSATION_TYPE_P2P,
      messageSequence: 5,
      clientType: 1,
      imei: "web",
    });
    const id = `0_${a}_${b}`;
    expect(
      Number((await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: id } })).readSequence),
    ).toBe(5);
    const pushes = await h.pushes();
    const expected = { conversationType: 0, fromId: a, groupId: "", messageSequence: 5, toId: b };
    expect(pushes.map((p) => `${p.userId === a ? "a" : "b"}/${p.imei}/${p.command}`).sort()).toEqual([
      "a/ios/1053",
      "b/ios/1054",
      "b/web/1054",
    ]);
    expect(pushes[0]?.data).toEqual(expected);
    await asA.markRead({
      toId: b,
      conversationType: ConversationType.CONVERSATION_TYPE_P2P,
      messageSequence: 3,
    });
    expect(
      Number((await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: id } })).readSequence),
    ).toBe(5);
    expect(await h.pushes()).toEqual([]);
    await expectCode(
      asA.markRead({ conversationType: ConversationType.CONVERSATION_TYPE_P2P, messageSequence: 3 }),
      90001,
    );
  });

  it("sends a read receipt only for a message between the two, and not across a block (issue 13)", async () => {
    const { a, b, asA } = await friends("rcpt");
    const stranger = h.id("rcpt-x");
    await h.users([stranger]);
    await h.online(stranger, 1, "web");
    const p2pType = ConversationType.CONVERSATION_TYPE_P2P;
    const commands = async () =>
      (await h.pushes())
        .map((p) => `${p.userId === a ? "a" : p.userId === b ? "b" : "x"}/${p.command}`)
        .sort();
    // No message with that sequence between a and b: the cursor moves, only a's devices hear of it.
    await asA.markRead({
      toId: b,
      conversationType: p2pType,
      messageSequence: 7,
      clientType: 1,
      imei: "web",
    });
    expect(await commands()).toEqual(["a/1053"]);
    // A stranger is told nothing, whatever the sequence.
    await p2p(b, a, 8);
    await asA.markRead({ toId: stranger, conversationType: p2pType, messageSequence: 8 });
    expect(await commands()).toEqual(["a/1053", "a/1053"]);
    // b blacklists a: a's receipts for b's messages stop; a's own cursor still moves.
    await h.as(FriendshipServiceService, b).addBlack({ toId: a });
    await h.pushes();
    await asA.markRead({
      toId: b,
      conversationType: p2pType,
      messageSequence: 8,
      clientType: 1,
      imei: "web",
    });
    expect(await commands()).toEqual(["a/1053"]);
    expect(
      Number(
        (await h.db.conversationSet.findFirstOrThrow({ where: { conversationId: `0_${a}_${b}` } }))
          .readSequence,
      ),
    ).toBe(8);
  });

  it("marks group reads for members only (40000, 40006), receipts to the given sender", async () => {
    const { a, b } = await friends("gread");
    const outsider = h.id("gread-x");
    await h.users([outsider]);
    const { groupId } = await h
      .as(GroupServiceService, a)
      .createGroup({ member: [GroupMemberItem.fromPartial({ memberId: b })] });
    await h.pushes();
    const group = ConversationType.CONVERSATION_TYPE_GROUP;
    await groupMessage(groupId, a, 2);
    await h
      .as(ConversationServiceService, b)
      .markRead({ groupId, toId: a, conversationType: group, messageSequence: 2 });
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId === a ? "a" : "b"}/${p.command}`).sort()).toEqual([
      "a/2054",
      "a/2054",
      "b/2053",
      "b/2053",
    ]);
    // A receipt goes to the sender of the marked message: sequence 3 is b's, so `a` gets none.
    await groupMessage(groupId, b, 3);
    await h
      .as(ConversationServiceService, b)
      .markRead({ groupId, toId: a, conversationType: group, messageSequence: 3 });
    expect((await h.pushes()).map((p) => `${p.userId === a ? "a" : "b"}/${p.command}`).sort()).toEqual([
      "b/2053",
      "b/2053",
    ]);
    await expectCode(
      h
        .as(ConversationServiceService, outsider)
        .markRead({ groupId, conversationType: group, messageSequence: 1 }),
      40006,
    );
    await expectCode(
      h
        .as(ConversationServiceService, b)
        .markRead({ groupId: "nope", conversationType: group, messageSequence: 1 }),
      40000,
    );
  });

  it("syncs the caller's conversations by sequence (exclusive) with read cursor and unread count", async () => {
    const { a, b, asA, asB } = await friends("sync");
    await p2p(b, a, 1);
    await p2p(b, a, 2);
    await p2p(a, b, 3);
    await p2p(b, a, 4);
    await asA.markRead({
      toId: b,
      conversationType: ConversationType.CONVERSATION_TYPE_P2P,
      messageSequence: 2,
    });
    const page = await asA.syncConversations({ lastSequence: 0 });
    expect(page.dataList).toHaveLength(1);
    expect(page.dataList[0]).toMatchObject({
      conversationId: `0_${a}_${b}`,
      readSequence: 2,
      unreadCount: 1,
    });
    expect(page.maxSequence).toBe(page.dataList[0]?.sequence);
    expect(await asA.syncConversations({ lastSequence: page.maxSequence })).toEqual({
      maxSequence: page.maxSequence,
      completed: true,
      dataList: [],
    });
    expect((await asB.syncConversations({})).dataList[0]).toMatchObject({ unreadCount: 1, readSequence: 0 });
    const seq = await h.as(UserServiceService, a).getUserSequence({});
    expect(seq.sequences.conversationSeq).toBeGreaterThanOrEqual(page.maxSequence);
    await h.pushes();
  });
});
