import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Database } from "../../../lib/ports/db.js";
import { bothDatabases, withTestDatabase } from "../../../lib/testing/both-databases.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { moveGroupConversations, startGroupConversationFlusher } from "./group-conversations.js";
import type { StoredMessage } from "./jobs.js";
import { writeMessages } from "./message-writer.js";

let nextKey = 7_000_000;

function groupMessage(appId: number, fromId: string, groupId: string): StoredMessage {
  const key = nextKey++;
  return {
    conversationType: GROUP,
    appId,
    messageKey: BigInt(key),
    messageId: `g-${key}`,
    fromId,
    toId: groupId,
    sequence: BigInt(key),
    body: `body ${key}`,
    messageTime: BigInt(key),
    extra: "",
    acceptedTime: BigInt(key),
  };
}

const databases = bothDatabases();

describe.each(databases)("group conversations follow messages (issue 16; %s)", (_name, openDb) => {
  let db!: Database;
  let appId = 400;

  withTestDatabase(openDb, (opened) => {
    db = opened;
  });

  const members = async (app: number, groupId: string, roles: Record<string, number>) => {
    await db.groupMember.createMany({
      data: Object.entries(roles).map(([memberId, role]) => ({ appId: app, groupId, memberId, role })),
    });
  };
  const rows = async (app: number) =>
    new Map(
      (await db.conversationSet.findMany({ where: { appId: app } })).map((r) => [
        r.conversationId,
        { seq: Number(r.sequence), del: r.delFlag, type: r.conversationType, to: r.toId },
      ]),
    );
  const counter = async (app: number, owner: string) =>
    Number(
      (
        await db.sequenceHighWater.findUnique({
          where: { appId_seqKey: { appId: app, seqKey: `seq:conversationSeq:${owner}` } },
        })
      )?.maxValue ?? 0,
    );
  const marks = async (app: number) => db.groupConversationPending.count({ where: { appId: app } });

  it("a batch marks each group once; a move creates, revives and renumbers the members' rows, not the leaver's", async () => {
    const app = appId++;
    await members(app, "g1", { ann: 2, ben: 0, cat: 0, dan: 3 });
    // ben deleted his conversation earlier; cat has none yet
    await db.conversationSet.create({
      data: {
        appId: app,
        conversationId: "1_ben_g1",
        conversationType: GROUP,
        fromId: "ben",
        toId: "g1",
        sequence: 1n,
        delFlag: 1,
      },
    });
    await db.sequenceHighWater.create({
      data: { appId: app, seqKey: "seq:conversationSeq:ben", maxValue: 1n },
    });

    await writeMessages(db, [groupMessage(app, "ann", "g1"), groupMessage(app, "ann", "g1")]);
    expect(await marks(app)).toBe(1);
    // the batch itself moves nothing: the rows wait for the flusher
    expect((await rows(app)).has("1_cat_g1")).toBe(false);

    const out = await moveGroupConversations(db);
    expect(out).toEqual({ groups: 1, conversations: 3, group: { appId: app, groupId: "g1" } });
    expect(await marks(app)).toBe(0);
    const after = await rows(app);
    expect(after.get("1_ann_g1")).toEqual({ seq: 1, del: 0, type: GROUP, to: "g1" });
    expect(after.get("1_ben_g1")).toEqual({ seq: 2, del: 0, type: GROUP, to: "g1" });
    expect(after.get("1_cat_g1")).toEqual({ seq: 1, del: 0, type: GROUP, to: "g1" });
    expect(after.has("1_dan_g1")).toBe(false);
    expect(await counter(app, "ben")).toBe(2);
    expect(await counter(app, "dan")).toBe(0);

    // nothing marked: nothing moves
    expect(await moveGroupConversations(db)).toEqual({ groups: 0, conversations: 0 });
    // a redelivered batch stores nothing, so marks nothing
    expect(await marks(app)).toBe(0);
  });

  it("one member of several marked groups gets distinct numbers above their counter", async () => {
    const app = appId++;
    await members(app, "ga", { eve: 2, fay: 0 });
    await members(app, "gb", { eve: 0, gus: 2 });
    await members(app, "gc", { eve: 0 });
    await writeMessages(db, [
      groupMessage(app, "fay", "ga"),
      groupMessage(app, "gus", "gb"),
      groupMessage(app, "eve", "gc"),
    ]);
    expect(await marks(app)).toBe(3);
    // one group per call
    expect(await moveGroupConversations(db)).toEqual({
      groups: 1,
      conversations: 2,
      group: { appId: app, groupId: "ga" },
    });
    // a group asked to be skipped stays marked while others move
    expect(await moveGroupConversations(db, [{ appId: app, groupId: "gb" }])).toMatchObject({
      groups: 1,
      group: { groupId: "gc" },
    });
    expect(await moveGroupConversations(db, [{ appId: app, groupId: "gb" }])).toEqual({
      groups: 0,
      conversations: 0,
    });
    expect(await moveGroupConversations(db)).toMatchObject({ groups: 1, group: { groupId: "gb" } });
    expect(await moveGroupConversations(db)).toEqual({ groups: 0, conversations: 0 });
    const after = await rows(app);
    const eve = ["1_eve_ga", "1_eve_gb", "1_eve_gc"].map((id) => after.get(id)?.seq);
    expect(new Set(eve).size).toBe(3);
    expect(Math.max(...(eve as number[]))).toBe(await counter(app, "eve"));
    expect(await counter(app, "eve")).toBe(3);
  });

  it("the flusher moves marked groups on its own timer and stops cleanly", async () => {
    const app = appId++;
    await members(app, "gt", { hal: 2, ivy: 0 });
    const moved: number[] = [];
    const flusher = startGroupConversationFlusher({
      db,
      logger: pino({ level: "silent" }),
      intervalMs: 50,
      onMoved: (o) => moved.push(o.conversations),
    });
    try {
      await writeMessages(db, [groupMessage(app, "hal", "gt")]);
      const deadline = Date.now() + 5_000;
      while ((await marks(app)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(await marks(app)).toBe(0);
      expect((await rows(app)).get("1_ivy_gt")?.del).toBe(0);
      expect(moved).toContain(2);
    } finally {
      await flusher.stop();
    }
  });

  it("a group that moved many rows rests before its next move; other groups do not wait for it", async () => {
    const app = appId++;
    await members(app, "big", Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`m${i}`, 0])));
    await members(app, "small", { kim: 0 });
    const moved: string[] = [];
    // 40 rows at 10 rows/s: the big group rests 4 s after each move (the interval is 50 ms).
    const flusher = startGroupConversationFlusher({
      db,
      logger: pino({ level: "silent" }),
      intervalMs: 50,
      maxRowsPerSecond: 10,
      onMoved: (o) => moved.push(o.group?.groupId ?? ""),
    });
    const movedOnce = async (groupId: string) => {
      const deadline = Date.now() + 5_000;
      while (!moved.includes(groupId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(moved).toContain(groupId);
    };
    try {
      await writeMessages(db, [groupMessage(app, "m0", "big")]);
      await movedOnce("big");
      // marked again at once: the small group moves while the big one rests, then the big one
      await writeMessages(db, [groupMessage(app, "m1", "big"), groupMessage(app, "kim", "small")]);
      await movedOnce("small");
      expect(moved.filter((g) => g === "big")).toHaveLength(1);
      expect(await marks(app)).toBe(1);
      const deadline = Date.now() + 10_000;
      while ((await marks(app)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(moved.filter((g) => g === "big")).toHaveLength(2);
    } finally {
      await flusher.stop();
    }
  });
});
