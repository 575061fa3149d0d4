import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../lib/ports/db.js";
import { bothDatabases, withTestDatabase } from "../../../lib/testing/both-databases.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { StoredMessage } from "./jobs.js";
import { writeMessages } from "./message-writer.js";

let nextKey = 5_000_000;

function message(
  type: typeof P2P | typeof GROUP,
  appId: number,
  fromId: string,
  toId: string,
): StoredMessage {
  const key = nextKey++;
  return {
    conversationType: type,
    appId,
    messageKey: BigInt(key),
    messageId: `m-${key}`,
    fromId,
    toId,
    sequence: BigInt(key),
    body: `body ${key}`,
    messageTime: BigInt(key),
    extra: "",
    acceptedTime: BigInt(key),
  };
}

/** The writer's SQL runs on both adapters of the db port. */
const databases = bothDatabases();

describe.each(databases)("conversations follow P2P messages (issue 16, D11; %s)", (_name, openDb) => {
  let db!: Database;
  let appId = 300;

  withTestDatabase(openDb, (opened) => {
    db = opened;
  });

  const rows = async (app: number) =>
    (
      await db.conversationSet.findMany({
        where: { appId: app },
        orderBy: [{ fromId: "asc" }, { toId: "asc" }],
      })
    ).map((r) => ({
      id: r.conversationId,
      type: r.conversationType,
      seq: Number(r.sequence),
      del: r.delFlag,
    }));
  const counter = async (app: number, owner: string) =>
    Number(
      (
        await db.sequenceHighWater.findUnique({
          where: { appId_seqKey: { appId: app, seqKey: `seq:conversationSeq:${owner}` } },
        })
      )?.maxValue ?? 0n,
    );

  it("creates both sides' conversations, one number each from the owner's counter", async () => {
    const app = appId++;
    await writeMessages(db, [message(P2P, app, "ann", "ben"), message(P2P, app, "ann", "cat")]);
    expect(await rows(app)).toEqual([
      { id: "0_ann_ben", type: 0, seq: 1, del: 0 },
      { id: "0_ann_cat", type: 0, seq: 2, del: 0 },
      { id: "0_ben_ann", type: 0, seq: 1, del: 0 },
      { id: "0_cat_ann", type: 0, seq: 1, del: 0 },
    ]);
    expect([await counter(app, "ann"), await counter(app, "ben"), await counter(app, "cat")]).toEqual([
      2, 1, 1,
    ]);
  });

  it("moves a conversation above the owner's other changes with each later batch, once per batch", async () => {
    const app = appId++;
    await writeMessages(db, [message(P2P, app, "ann", "ben")]);
    // The owner's counter moved on elsewhere (a read mark, a friend's conversation, …).
    await db.sequenceHighWater.update({
      where: { appId_seqKey: { appId: app, seqKey: "seq:conversationSeq:ann" } },
      data: { maxValue: 40n },
    });
    await writeMessages(db, [message(P2P, app, "ann", "ben"), message(P2P, app, "ben", "ann")]);
    const ann = (await rows(app)).find((r) => r.id === "0_ann_ben");
    expect(ann?.seq).toBe(41);
    expect(await counter(app, "ann")).toBe(41);
    expect(await counter(app, "ben")).toBe(2);
  });

  it("revives a conversation its owner deleted", async () => {
    const app = appId++;
    await writeMessages(db, [message(P2P, app, "ann", "ben")]);
    await db.conversationSet.update({
      where: { appId_conversationId: { appId: app, conversationId: "0_ben_ann" } },
      data: { delFlag: 1, sequence: 7n },
    });
    await db.sequenceHighWater.update({
      where: { appId_seqKey: { appId: app, seqKey: "seq:conversationSeq:ben" } },
      data: { maxValue: 7n },
    });
    await writeMessages(db, [message(P2P, app, "ann", "ben")]);
    expect((await rows(app)).find((r) => r.id === "0_ben_ann")).toEqual({
      id: "0_ben_ann",
      type: 0,
      seq: 8,
      del: 0,
    });
  });

  it("writes nothing again for a redelivered batch, one row for a chat with oneself, nothing for groups", async () => {
    const app = appId++;
    const batch = [
      message(P2P, app, "ann", "ben"),
      message(P2P, app, "ann", "ann"),
      message(GROUP, app, "ann", "g1"),
    ];
    await writeMessages(db, batch);
    const first = await rows(app);
    expect(first.map((r) => r.id)).toEqual(["0_ann_ann", "0_ann_ben", "0_ben_ann"]);
    const outcome = await writeMessages(db, batch);
    expect(outcome.stored).toBe(0);
    expect(await rows(app)).toEqual(first);
    expect(await counter(app, "ann")).toBe(2);
  });
});

describe.each(databases)("the sender's id guards the body (im_message_id; %s)", (_name, openDb) => {
  let testDb: { db: Database; close(): Promise<void> };
  let db: Database;
  let appId = 400;

  beforeAll(async () => {
    testDb = await openDb();
    db = testDb.db;
  });
  afterAll(async () => {
    await testDb?.close();
  });

  const idRow = (m: StoredMessage) =>
    db.messageIdempotency.findUnique({
      where: { appId_fromId_messageId: { appId: m.appId, fromId: m.fromId, messageId: m.messageId } },
    });

  it("writes the id with the body; a resend under another key stores nothing and the first key stays", async () => {
    const app = appId++;
    const first = message(P2P, app, "ann", "ben");
    expect((await writeMessages(db, [first])).stored).toBe(1);
    expect((await idRow(first))?.messageKey).toBe(first.messageKey);

    const resend = { ...message(P2P, app, "ann", "ben"), messageId: first.messageId };
    const other = message(GROUP, app, "ann", "g1");
    const outcome = await writeMessages(db, [first, resend, other]);
    expect(outcome).toMatchObject({ stored: 1, redelivered: 1, conflicts: [resend] });
    expect(await db.messageBody.count({ where: { messageKey: resend.messageKey } })).toBe(0);
    expect(await db.messageHistory.count({ where: { messageKey: resend.messageKey } })).toBe(0);
    expect((await idRow(first))?.messageKey).toBe(first.messageKey);
    expect((await idRow(other))?.messageKey).toBe(other.messageKey);
  });

  it("two copies of one send in one batch under two keys: one stored, the other a conflict", async () => {
    const app = appId++;
    const a = message(P2P, app, "ann", "ben");
    const b = { ...message(P2P, app, "ann", "ben"), messageId: a.messageId };
    const outcome = await writeMessages(db, [a, b]);
    expect(outcome.stored).toBe(1);
    expect(outcome.conflicts).toHaveLength(1);
    const kept = await idRow(a);
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(1);
    expect((await db.messageBody.findFirstOrThrow({ where: { appId: app } })).messageKey).toBe(
      kept?.messageKey,
    );
  });
});
