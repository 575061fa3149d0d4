import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../lib/ports/db.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { unreadCounts } from "./unread-counts.js";

const APP = 10001;
let nextKey = 5_000_000n;

/** Stores one message as the store would: the body plus its history row(s). */
async function stored(db: Database, type: 0 | 1, fromId: string, toId: string, sequence: number) {
  const messageKey = nextKey++;
  const common = {
    appId: APP,
    fromId,
    messageKey,
    sequence: BigInt(sequence),
    messageTime: 1n,
    createTime: 1n,
  };
  await db.messageBody.create({
    data: {
      messageKey,
      appId: APP,
      conversationType: type,
      fromId,
      toId,
      messageId: `m-${messageKey}`,
      messageSequence: BigInt(sequence),
      messageBody: "hi",
      messageTime: 1n,
      createTime: 1n,
    },
  });
  if (type === 1) {
    await db.groupMessageHistory.create({ data: { ...common, groupId: toId } });
    return;
  }
  const owners = fromId === toId ? [fromId] : [fromId, toId];
  await db.messageHistory.createMany({
    data: owners.map((ownerId) => ({ ...common, toId, ownerId, peerId: ownerId === fromId ? toId : fromId })),
  });
}

describe("unreadCounts", () => {
  let testDb: MigratedTestDatabase;
  let db: MigratedTestDatabase["db"];

  beforeAll(async () => {
    testDb = await migratedTestDatabase(2);
    db = testDb.db;
    // ann ↔ bob: 5 messages, ann read up to 2; bob sent 2, 4, 5 → unread 4, 5 (3 is ann's own).
    for (const [from, to, seq] of [
      ["bob", "ann", 1],
      ["bob", "ann", 2],
      ["ann", "bob", 3],
      ["bob", "ann", 4],
      ["bob", "ann", 5],
    ] as const) {
      await stored(db, 0, from, to, seq);
    }
    await stored(db, 0, "ann", "ann", 1); // self-chat: all one's own
    await db.group.createMany({
      data: ["g1", "g2"].map((groupId) => ({ appId: APP, groupId, ownerId: "cat" })),
    });
    await db.groupMember.createMany({
      data: [
        { appId: APP, groupId: "g1", memberId: "ann", joinSequence: 3n },
        { appId: APP, groupId: "g2", memberId: "ann", role: 3 }, // left
      ],
    });
    for (let seq = 1; seq <= 6; seq++) {
      await stored(db, 1, seq === 5 ? "ann" : "cat", "g1", seq);
      await stored(db, 1, "cat", "g2", seq);
    }
    const conversation = (id: string, type: number, to: string, readSequence: number) => ({
      appId: APP,
      conversationId: id,
      conversationType: type,
      fromId: "ann",
      toId: to,
      readSequence: BigInt(readSequence),
    });
    await db.conversationSet.createMany({
      data: [
        conversation("0_ann_bob", 0, "bob", 2),
        conversation("0_ann_ann", 0, "ann", 0),
        conversation("0_ann_dan", 0, "dan", 0),
        conversation("1_ann_g1", 1, "g1", 1), // joined at 3: 4 and 6 count, 5 is hers
        conversation("1_ann_g2", 1, "g2", 0),
      ],
    });
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it("counts messages after the read cursor not sent by the owner, for a whole page in one query", async () => {
    const ids = ["0_ann_bob", "0_ann_ann", "0_ann_dan", "1_ann_g1", "1_ann_g2"];
    const queries: string[] = [];
    const counting = db.$extends({
      query: {
        $queryRaw: ({ args, query }) => {
          queries.push("raw");
          return query(args);
        },
      },
    });
    const counts = await unreadCounts(
      counting as unknown as Database,
      APP,
      ids.map((conversationId) => ({ conversationId })),
    );
    expect(Object.fromEntries(counts)).toEqual({
      "0_ann_bob": 2,
      "0_ann_ann": 0,
      "0_ann_dan": 0,
      "1_ann_g1": 2,
      "1_ann_g2": 0,
    });
    expect(queries).toHaveLength(1);
  });

  it("moves with the read cursor and answers an empty page without a query", async () => {
    await db.conversationSet.update({
      where: { appId_conversationId: { appId: APP, conversationId: "0_ann_bob" } },
      data: { readSequence: 4n },
    });
    const counts = await unreadCounts(db, APP, [{ conversationId: "0_ann_bob" }]);
    expect(counts.get("0_ann_bob")).toBe(1);
    expect((await unreadCounts(db, APP, [])).size).toBe(0);
  });
});
