import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import type { Database } from "../../../lib/ports/db.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { messageServiceHandlers } from "./message-service.js";
import type { Messaging } from "./messaging.js";
import { offlineMessages } from "./offline-messages.js";

const APP = 10001;
let nextKey = 7_000_000n;

/** Stores one message as the store would: the body plus its history row(s); returns its key. */
async function stored(db: Database, type: 0 | 1, fromId: string, toId: string, sequence: number) {
  const messageKey = nextKey++;
  const common = {
    appId: APP,
    fromId,
    messageKey,
    sequence: BigInt(sequence),
    messageTime: 9n,
    createTime: 9n,
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
      messageBody: `text ${messageKey}`,
      messageTime: 9n,
      createTime: 9n,
      extra: "x",
    },
  });
  if (type === 1) await db.groupMessageHistory.create({ data: { ...common, groupId: toId } });
  else {
    await db.messageHistory.createMany({
      data: [fromId, toId].map((ownerId) => ({
        ...common,
        toId,
        ownerId,
        peerId: ownerId === fromId ? toId : fromId,
      })),
    });
  }
  return Number(messageKey);
}

describe("MessageService.SyncOfflineMessages", () => {
  let testDb: MigratedTestDatabase;
  let db: Database;
  const keys: number[] = [];

  beforeAll(async () => {
    testDb = await migratedTestDatabase(2);
    db = testDb.db;
    await db.group.create({ data: { appId: APP, groupId: "g1", ownerId: "cat" } });
    await db.groupMember.create({ data: { appId: APP, groupId: "g1", memberId: "ann", joinSequence: 1n } });
    keys.push(await stored(db, 0, "bob", "ann", 1));
    keys.push(await stored(db, 1, "cat", "g1", 1)); // before ann joined: not hers
    keys.push(await stored(db, 0, "ann", "bob", 2));
    keys.push(await stored(db, 1, "cat", "g1", 2));
    keys.push(await stored(db, 0, "dan", "eve", 1)); // someone else's
    await db.messageBody.update({
      where: { messageKey: BigInt(keys[2] as number) },
      data: { recalled: true, messageBody: "", recallTime: 1n },
    });
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it("returns the user's messages of every conversation by messageKey, as offline records", async () => {
    const all = await offlineMessages(db, { appId: APP, userId: "ann", lastSequence: 0, maxLimit: 0 });
    expect(all.completed).toBe(true);
    expect(all.maxSequence).toBe(keys[3]);
    expect(all.dataList.map((m) => m.messageKey)).toEqual([keys[0], keys[2], keys[3]]);
    expect(all.dataList[0]).toEqual({
      appId: APP,
      conversationId: "0_ann_bob",
      conversationType: 0,
      delFlag: 0,
      extra: "x",
      fromId: "bob",
      messageBody: `text ${keys[0]}`,
      messageKey: keys[0],
      messageSequence: 1,
      messageTime: 9,
      toId: "ann",
    });
    expect(all.dataList[1]).toMatchObject({ conversationId: "0_ann_bob", delFlag: 1, messageBody: "" });
    expect(all.dataList[2]).toMatchObject({ conversationId: "1_ann_g1", conversationType: 1, toId: "g1" });
  });

  it("pages with an exclusive messageKey cursor (the original repeated the last item, D1)", async () => {
    const first = await offlineMessages(db, { appId: APP, userId: "ann", lastSequence: 0, maxLimit: 2 });
    expect(first.dataList.map((m) => m.messageKey)).toEqual([keys[0], keys[2]]);
    expect(first.completed).toBe(false);
    const next = await offlineMessages(db, {
      appId: APP,
      userId: "ann",
      lastSequence: keys[2] as number,
      maxLimit: 2,
    });
    expect(next.dataList.map((m) => m.messageKey)).toEqual([keys[3]]);
    expect(next.completed).toBe(true);
  });

  it("serves the operator's own queue through the handler", async () => {
    const handlers = messageServiceHandlers({} as Messaging, async () => db);
    const ctx: RequestContext = {
      appId: APP,
      operator: "bob",
      identifier: "bob",
      device: { clientType: 3, imei: "" },
      isAdmin: async () => false,
      log: pino({ level: "silent" }),
    };
    const sync = handlers.syncOfflineMessages;
    if (sync === undefined) throw new Error("SyncOfflineMessages is not served");
    const res = await sync(
      { appId: APP, operater: "bob", clientType: 3, imei: "", lastSequence: 0, maxLimit: 0 },
      ctx,
    );
    expect(res.dataList.map((m) => [m.messageKey, m.conversationId])).toEqual([
      [keys[0], "0_bob_ann"],
      [keys[2], "0_bob_ann"],
    ]);
  });
});
