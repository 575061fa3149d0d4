import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoreGroupMessageJob, StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { userChangeTokenKey } from "../../../lib/change-tokens/change-token-keys.js";
import { p2pReceiptKey } from "../../../lib/push/receipt-index.js";
import { ReceiveAckGate } from "../../../lib/push/receive-ack.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import { APP, startMessagingHarness, storeBody } from "../../../test/domain/messaging-harness.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import type { ChatMessage, SenderDevice } from "./chat-message.js";

/**
 * Issue 13 item 4b: receipts (1107, 1054, 2054) only for messages that exist between the two
 * users, under the P2P rules of sends, and never with the acting device's id.
 */

const phone = (userId: string): SenderDevice => ({ clientType: 3, imei: `${userId}-phone` });

/** A harness with users, devices and helpers; `flags` overrides config `messaging`. */
async function setUp(flags: { checkFriendship?: boolean; checkBlacklist?: boolean } = {}) {
  const h = await startMessagingHarness({ messaging: flags });
  let n = 0;
  const send = async (fromId: string, toId: string, type: number = P2P): Promise<ChatMessage> => {
    const m = await h.messaging.send({
      conversationType: type === GROUP ? GROUP : P2P,
      appId: APP,
      fromId,
      toId,
      messageId: `rc-${++n}`,
      messageBody: "hello",
      messageTime: 0,
      extra: "",
      device: phone(fromId),
    });
    await h.pushes();
    return m;
  };
  /** Writes the jobs published so far to the database, as the store does. */
  const store = async () => {
    for (const job of await h.jobs()) {
      await storeBody(h.database.db, job as StoreP2PMessageJob | StoreGroupMessageJob);
    }
  };
  const ack = (
    receiverId: string,
    m: ChatMessage,
    over: Partial<{ toId: string; messageKey: number }> = {},
  ) =>
    h.messaging.receiveAck({
      appId: APP,
      receiverId,
      device: phone(receiverId),
      toId: over.toId ?? m.fromId,
      messageKey: over.messageKey ?? m.messageKey,
      messageSequence: m.messageSequence,
    });
  /** Sets the black flag of `fromId`'s row about `toId` (as FriendshipService.AddBlack / DeleteBlack). */
  const black = async (fromId: string, toId: string, on: boolean) => {
    await h.database.db.friendship.update({
      where: { appId_fromId_toId: { appId: APP, fromId, toId } },
      data: { black: on ? 2 : 1 },
    });
    await h.env.changes.bumpUsers(APP, [fromId]);
  };
  const commands = async () => (await h.pushes()).map((p) => `${p.userId}/${p.command}`).sort();
  return { h, send, store, ack, black, commands, gate: new ReceiveAckGate(h.kv) };
}

describe("receive ACKs (1107)", () => {
  let t: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    t = await setUp();
    await t.h.users(["alice", "bob", "carol", "dave"]);
    await t.h.friends("alice", "bob");
    await t.h.friends("alice", "dave");
    for (const u of ["alice", "bob", "carol", "dave"]) await t.h.online(u, 3, `${u}-phone`);
  });
  afterAll(async () => {
    await t?.h.close();
  });

  it("reads the change-token key the gateway reads (lib/change-tokens)", () => {
    expect(userChangeTokenKey(APP, "a:b")).toBe(ChangeTokens.user(APP, "a:b"));
  });

  it("relays an ACK for a message the sender sent the receiver, without the receiver's device", async () => {
    const m = await t.send("alice", "bob");
    expect(await t.ack("bob", m)).toBe("relayed");
    const pushes = await t.h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.command}`)).toEqual(["alice/1107"]);
    expect(pushes[0]?.data).not.toHaveProperty("imei");
    expect(pushes[0]?.data).not.toHaveProperty("clientType");
    expect(pushes[0]?.data).toMatchObject({ fromId: "bob", toId: "alice", messageKey: m.messageKey });
  });

  it("drops ACKs for message keys that do not exist or name another pair", async () => {
    const m = await t.send("alice", "bob");
    expect(await t.ack("bob", m, { messageKey: m.messageKey + 1 })).toBe("unknown-message");
    expect(await t.ack("bob", { ...m, messageSequence: m.messageSequence + 50 })).toBe("unknown-message");
    expect(await t.ack("bob", { ...m, messageKey: 0 })).toBe("unknown-message");
    // A stranger naming alice's real message to bob: not theirs.
    expect(await t.ack("carol", m)).toBe("unknown-message");
    // bob claiming it came from carol.
    expect(await t.ack("bob", m, { toId: "carol" })).toBe("unknown-message");
    expect(await t.commands()).toEqual([]);
  });

  it("drops ACKs across a blacklist either way; the gateway's kv verdict follows the block", async () => {
    const m = await t.send("alice", "dave");
    const gateInput = {
      appId: APP,
      receiverId: "dave",
      device: phone("dave"),
      toId: "alice",
      messageKey: m.messageKey,
      messageSequence: m.messageSequence,
    };
    // Before any ACK of the pair went through the domain, the gateway asks it.
    expect(await t.gate.decide(gateInput)).toBe("ask-domain");
    expect(await t.ack("dave", m)).toBe("relayed");
    expect(await t.gate.decide(gateInput)).toBe("relay");
    expect(await t.commands()).toEqual(["alice/1107"]);

    await t.black("dave", "alice", true); // dave blacklists alice
    expect(await t.gate.decide(gateInput)).toBe("ask-domain"); // the verdict's tokens are stale
    expect(await t.ack("dave", m)).toBe("not-allowed");
    expect(await t.gate.decide(gateInput)).toBe("drop");
    await t.black("dave", "alice", false);
    await t.black("alice", "dave", true); // now alice blacklists dave
    expect(await t.ack("dave", m)).toBe("not-allowed");
    expect(await t.gate.decide(gateInput)).toBe("drop");
    await t.black("alice", "dave", false);
    expect(await t.ack("dave", m)).toBe("relayed");
    expect(await t.commands()).toEqual(["alice/1107"]);
    // Another key for the indexed sequence: the gateway drops it without asking.
    expect(await t.gate.decide({ ...gateInput, messageKey: m.messageKey + 1 })).toBe("drop");
  });

  it("checks against the database when kv no longer indexes the message", async () => {
    const messages = [
      await t.send("alice", "bob"),
      await t.send("alice", "bob"),
      await t.send("alice", "bob"),
    ];
    await t.store();
    for (const m of messages) {
      await t.h.kv.del(p2pReceiptKey(APP, "alice", "bob", m.messageSequence));
    }
    // Concurrent ACKs share one lookup; each is checked on its own row.
    const outcomes = await Promise.all([
      ...messages.map((m) => t.ack("bob", m)),
      t.ack("carol", messages[0] as ChatMessage),
      t.ack("bob", messages[1] as ChatMessage, { messageKey: (messages[2] as ChatMessage).messageKey }),
    ]);
    expect(outcomes).toEqual(["relayed", "relayed", "relayed", "unknown-message", "unknown-message"]);
    expect(await t.commands()).toEqual(["alice/1107", "alice/1107", "alice/1107"]);
  });

  it("still refuses an ACK without to_id (90001)", async () => {
    const m = await t.send("alice", "bob");
    await expect(t.ack("bob", m, { toId: " " })).rejects.toMatchObject({ code: 90001 });
  });
});

describe("read receipts (1054 / 2054)", () => {
  let t: Awaited<ReturnType<typeof setUp>>;
  const mark = (fromId: string, toId: string, messageSequence: number, groupId = "") =>
    t.h.messaging.markRead(
      {
        appId: APP,
        fromId,
        toId,
        groupId,
        conversationType: groupId === "" ? P2P : GROUP,
        messageSequence,
      },
      phone(fromId),
    );

  beforeAll(async () => {
    t = await setUp();
    await t.h.users(["alice", "bob", "carol", "dave"]);
    await t.h.friends("alice", "bob");
    await t.h.friends("alice", "dave");
    await t.h.group("team", ["alice", "bob", "carol"]);
    for (const u of ["alice", "bob", "carol", "dave"]) {
      await t.h.online(u, 3, `${u}-phone`);
      await t.h.online(u, 1, `${u}-web`);
    }
  });
  afterAll(async () => {
    await t?.h.close();
  });

  it("sends the peer a receipt for a message between them; none for a stranger or a sequence no message has", async () => {
    const m = await t.send("bob", "alice");
    expect(await mark("alice", "bob", m.messageSequence)).toBe(true);
    expect(await t.commands()).toEqual(["alice/1053", "bob/1054", "bob/1054"]);
    // No message at that sequence: the reader's cursor moves, the peer hears nothing.
    expect(await mark("alice", "bob", m.messageSequence + 10)).toBe(true);
    expect(await t.commands()).toEqual(["alice/1053"]);
    // A stranger is never told.
    expect(await mark("alice", "carol", 1)).toBe(true);
    expect(await t.commands()).toEqual(["alice/1053"]);
  });

  it("sends no receipt across a blacklist", async () => {
    const m = await t.send("dave", "alice");
    await t.black("dave", "alice", true);
    expect(await mark("alice", "dave", m.messageSequence)).toBe(true);
    expect(await t.commands()).toEqual(["alice/1053"]);
    await t.black("dave", "alice", false);
  });

  it("sends a group read receipt only to the sender of the marked message", async () => {
    const g1 = await t.send("bob", "team", GROUP);
    expect(await mark("carol", "alice", g1.messageSequence, "team")).toBe(true);
    expect(await t.commands()).toEqual(["carol/2053"]);
    const g2 = await t.send("bob", "team", GROUP);
    expect(await mark("carol", "bob", g2.messageSequence, "team")).toBe(true);
    expect(await t.commands()).toEqual(["bob/2054", "bob/2054", "carol/2053"]);
  });
});

describe("with messaging.checkFriendship and checkBlacklist off", () => {
  let t: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    t = await setUp({ checkFriendship: false, checkBlacklist: false });
    await t.h.users(["erin", "frank"]);
    await t.h.online("erin", 3, "erin-phone");
  });
  afterAll(async () => {
    await t?.h.close();
  });

  it("relays receipts between strangers for their real messages, as sends are allowed", async () => {
    const m = await t.send("erin", "frank");
    expect(await t.ack("frank", m)).toBe("relayed");
    expect(await t.ack("frank", m, { messageKey: m.messageKey + 1 })).toBe("unknown-message");
    expect(await t.commands()).toEqual(["erin/1107"]);
  });
});
