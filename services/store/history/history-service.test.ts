import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationType } from "../../../gen/ts/whaleshark/v1/enums.js";
import type { OriginalConversationType } from "../../../gen/ts/whaleshark/v1/history_service.js";
import { GrpcStatus, isImError } from "../../../lib/errors/index.js";
import { grpcStatusOf } from "../../../lib/grpc/errors.js";
import type { Database } from "../../../lib/ports/db.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { StoredMessage } from "../consumer/jobs.js";
import { writeMessages } from "../consumer/message-writer.js";
import { HistoryService } from "./history-service.js";

const APP = 10001;
const base = { appId: APP, clientType: 1, imei: "web" };
let nextKey = 1_000_000;

function msg(
  type: typeof P2P | typeof GROUP,
  fromId: string,
  toId: string,
  sequence: number,
  key = nextKey++,
): StoredMessage {
  return {
    conversationType: type,
    appId: APP,
    messageKey: BigInt(key),
    messageId: `m-${key}`,
    fromId,
    toId,
    sequence: BigInt(sequence),
    body: `body ${key}`,
    messageTime: BigInt(key),
    extra: "",
    acceptedTime: BigInt(key),
  };
}

/** Thrown ImError's code and gRPC status, for assertions. */
async function failure(p: Promise<unknown>): Promise<[number, number]> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isImError(err)) throw new Error(`expected an ImError, got ${String(err)}`);
  return [err.code, grpcStatusOf(err)];
}

describe("HistoryService", () => {
  let testDb: MigratedTestDatabase;
  let db: Database;
  let svc: HistoryService;

  beforeAll(async () => {
    testDb = await migratedTestDatabase();
    db = testDb.db;
    svc = new HistoryService(
      async () => db,
      async (_app, user) => user === "admin",
    );
    // alice ↔ bob: 200 messages alternating direction, sequences 1..200
    await writeMessages(
      db,
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? msg(P2P, "alice", "bob", i + 1) : msg(P2P, "bob", "alice", i + 1),
      ),
    );
    // alice ↔ carol: 3 messages
    await writeMessages(db, [
      msg(P2P, "alice", "carol", 1),
      msg(P2P, "carol", "alice", 2),
      msg(P2P, "alice", "carol", 3),
    ]);
    // group g1: alice joined at 0, dave joined at sequence 3, erin left; 6 messages
    await db.group.create({ data: { appId: APP, groupId: "g1", ownerId: "alice" } });
    await db.groupMember.createMany({
      data: [
        { appId: APP, groupId: "g1", memberId: "alice", role: 2, joinSequence: 0n },
        { appId: APP, groupId: "g1", memberId: "dave", role: 0, joinSequence: 3n },
        { appId: APP, groupId: "g1", memberId: "erin", role: 3, joinSequence: 0n },
      ],
    });
    await writeMessages(
      db,
      [1, 2, 3, 4, 5, 6].map((s) => msg(GROUP, "alice", "g1", s)),
    );
  });
  afterAll(async () => {
    await testDb?.close();
  });

  describe("SyncP2PMessages", () => {
    const req = { ...base, operater: "alice", userId: "", toId: "bob", lastSequence: 0, maxLimit: 0 };

    it("returns both directions with bodies, paged by sequence to an exact boundary", async () => {
      const first = await svc.syncP2PMessages(req);
      expect(first.dataList).toHaveLength(100);
      expect(first.completed).toBe(false);
      expect(first.maxSequence).toBe(200);
      expect(first.dataList.map((m) => m.messageSequence)).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      expect(first.dataList[0]).toMatchObject({
        fromId: "alice",
        toId: "bob",
        groupId: "",
        conversationType: 0,
      });
      expect(first.dataList[1]).toMatchObject({ fromId: "bob", toId: "alice" }); // received ones too (D16)
      expect(first.dataList[0]?.messageBody).toMatch(/^body /);
      const second = await svc.syncP2PMessages({ ...req, lastSequence: 100 });
      expect(second.dataList.map((m) => m.messageSequence)).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 101),
      );
      expect(second.completed).toBe(true); // exactly 200: nothing after this page
      const after = await svc.syncP2PMessages({ ...req, lastSequence: 200 });
      expect(after).toEqual({ maxSequence: 200, completed: true, dataList: [] });
    });

    it("pages with a small max_limit and caps it at 100", async () => {
      const small = await svc.syncP2PMessages({
        ...req,
        operater: "bob",
        toId: "alice",
        lastSequence: 195,
        maxLimit: 3,
      });
      expect(small.dataList.map((m) => m.messageSequence)).toEqual([196, 197, 198]);
      expect(small.completed).toBe(false);
      const last = await svc.syncP2PMessages({
        ...req,
        operater: "bob",
        toId: "alice",
        lastSequence: 198,
        maxLimit: 2,
      });
      expect(last.completed).toBe(true);
      expect((await svc.syncP2PMessages({ ...req, maxLimit: 500 })).dataList).toHaveLength(100);
    });

    it("answers an empty conversation with an empty, completed page", async () => {
      expect(await svc.syncP2PMessages({ ...req, toId: "nobody" })).toEqual({
        maxSequence: 0,
        completed: true,
        dataList: [],
      });
    });

    it("refuses bad arguments and other users' history", async () => {
      expect(await failure(svc.syncP2PMessages({ ...req, toId: "" }))).toEqual([
        90001,
        GrpcStatus.INVALID_ARGUMENT,
      ]);
      expect(await failure(svc.syncP2PMessages({ ...req, maxLimit: -1 }))).toEqual([
        90001,
        GrpcStatus.INVALID_ARGUMENT,
      ]);
      expect(await failure(svc.syncP2PMessages({ ...req, lastSequence: -5 }))).toEqual([
        90001,
        GrpcStatus.INVALID_ARGUMENT,
      ]);
      expect(await failure(svc.syncP2PMessages({ ...req, operater: "" }))).toEqual([
        90001,
        GrpcStatus.INVALID_ARGUMENT,
      ]);
      expect(await failure(svc.syncP2PMessages({ ...req, operater: "mallory", userId: "alice" }))).toEqual([
        60005,
        GrpcStatus.PERMISSION_DENIED,
      ]);
      const asAdmin = await svc.syncP2PMessages({
        ...req,
        operater: "admin",
        userId: "alice",
        toId: "carol",
      });
      expect(asAdmin.dataList).toHaveLength(3);
    });
  });

  describe("SyncGroupMessages", () => {
    const req = { ...base, operater: "alice", userId: "", groupId: "g1", lastSequence: 0, maxLimit: 0 };

    it("shows a member everything from their join point", async () => {
      const all = await svc.syncGroupMessages(req);
      expect(all.dataList.map((m) => m.messageSequence)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(all.dataList[0]).toMatchObject({ groupId: "g1", toId: "", conversationType: 1 });
      const late = await svc.syncGroupMessages({ ...req, operater: "dave" });
      expect(late.dataList.map((m) => m.messageSequence)).toEqual([4, 5, 6]);
      expect(late.maxSequence).toBe(6);
      const paged = await svc.syncGroupMessages({ ...req, operater: "dave", lastSequence: 4, maxLimit: 1 });
      expect(paged.dataList.map((m) => m.messageSequence)).toEqual([5]);
      expect(paged.completed).toBe(false);
    });

    it("refuses non-members, members who left, and unknown groups", async () => {
      expect(await failure(svc.syncGroupMessages({ ...req, operater: "bob" }))).toEqual([
        40006,
        GrpcStatus.FAILED_PRECONDITION,
      ]);
      expect(await failure(svc.syncGroupMessages({ ...req, operater: "erin" }))).toEqual([
        40006,
        GrpcStatus.FAILED_PRECONDITION,
      ]);
      expect(await failure(svc.syncGroupMessages({ ...req, groupId: "nope" }))).toEqual([
        40000,
        GrpcStatus.NOT_FOUND,
      ]);
    });
  });

  describe("BatchSyncMessages", () => {
    it("answers each conversation from its own cursor, empty for groups the user is not in", async () => {
      const res = await svc.batchSyncMessages({
        ...base,
        operater: "alice",
        userId: "",
        maxCount: 2,
        conversations: [
          { conversationId: "carol", conversationType: ConversationType.CONVERSATION_TYPE_P2P, sequence: 1 },
          { conversationId: "g1", conversationType: ConversationType.CONVERSATION_TYPE_GROUP, sequence: 4 },
          {
            conversationId: "robot",
            conversationType: ConversationType.CONVERSATION_TYPE_ROBOT,
            sequence: 0,
          },
          { conversationId: "bob", conversationType: ConversationType.CONVERSATION_TYPE_P2P, sequence: 200 },
        ],
      });
      expect(res.conversationList.map((c) => [c.conversationId, c.completed, c.maxSequence])).toEqual([
        ["carol", true, 3],
        ["g1", true, 6],
        ["bob", true, 200],
      ]);
      expect(res.conversationList[0]?.messages.map((m) => m.messageSequence)).toEqual([2, 3]);
      expect(res.conversationList[1]?.messages.map((m) => m.messageSequence)).toEqual([5, 6]);
      const outsider = await svc.batchSyncMessages({
        ...base,
        operater: "bob",
        userId: "",
        maxCount: 0,
        conversations: [
          { conversationId: "g1", conversationType: ConversationType.CONVERSATION_TYPE_GROUP, sequence: 0 },
        ],
      });
      expect(outsider.conversationList).toEqual([
        { conversationId: "g1", conversationType: 1, maxSequence: 0, completed: true, messages: [] },
      ]);
    });
  });

  describe("BatchSyncMessage (the original's numbering: 1 P2P, 2 group)", () => {
    it("answers P2P and group conversations with 1 / 2 echoed and skips other types", async () => {
      const res = await svc.batchSyncMessage({
        ...base,
        operater: "alice",
        userId: "",
        maxCount: 2,
        conversations: [
          { conversationId: "carol", conversationType: 1, sequence: 1 },
          { conversationId: "bob", conversationType: 0, sequence: 0 },
          { conversationId: "g1", conversationType: 2, sequence: 4 },
          // A number the enum does not name, as it arrives from the wire (open enum).
          { conversationId: "robot", conversationType: 3 as OriginalConversationType, sequence: 0 },
          { conversationId: "bob", conversationType: 1, sequence: 200 },
        ],
      });
      expect(
        res.conversationList.map((c) => [c.conversationId, c.conversationType, c.completed, c.maxSequence]),
      ).toEqual([
        ["carol", 1, true, 3],
        ["g1", 2, true, 6],
        ["bob", 1, true, 200],
      ]);
      expect(res.conversationList[0]?.messages.map((m) => m.messageSequence)).toEqual([2, 3]);
      expect(res.conversationList[1]?.messages.map((m) => m.messageSequence)).toEqual([5, 6]);
      // The rows keep the contracts' numbering.
      expect(res.conversationList[1]?.messages[0]?.conversationType).toBe(
        ConversationType.CONVERSATION_TYPE_GROUP,
      );
      // Only skipped types: an empty answer, no error.
      const skipped = await svc.batchSyncMessage({
        ...base,
        operater: "alice",
        userId: "",
        maxCount: 0,
        conversations: [{ conversationId: "bob", conversationType: 0, sequence: 0 }],
      });
      expect(skipped.conversationList).toEqual([]);
    });

    it("checks the operator and the bounds as BatchSyncMessages does", async () => {
      const req = { ...base, operater: "bob", userId: "alice", maxCount: 0, conversations: [] };
      expect((await failure(svc.batchSyncMessage(req)))[0]).toBe(60005);
      expect((await failure(svc.batchSyncMessage({ ...req, userId: "", maxCount: -1 })))[0]).toBe(90001);
      const many = Array.from({ length: 501 }, () => ({
        conversationId: "x",
        conversationType: 0,
        sequence: 0,
      }));
      expect((await failure(svc.batchSyncMessage({ ...req, userId: "", conversations: many })))[0]).toBe(
        90001,
      );
    });
  });

  describe("SyncDeviceMessages", () => {
    it("catches up a device that was offline for many conversations, in messageKey order", async () => {
      // frank: 30 peers and 2 groups (joined g2 at 2, left g3), messages interleaved in key order
      await db.group.createMany({
        data: [
          { appId: APP, groupId: "g2", ownerId: "frank" },
          { appId: APP, groupId: "g3", ownerId: "frank" },
        ],
      });
      await db.groupMember.createMany({
        data: [
          { appId: APP, groupId: "g2", memberId: "frank", joinSequence: 2n },
          { appId: APP, groupId: "g3", memberId: "frank", role: 3 },
        ],
      });
      const expected: bigint[] = [];
      const batch: StoredMessage[] = [];
      for (let round = 1; round <= 4; round++) {
        for (let p = 0; p < 30; p++) {
          const m = p % 2 === 0 ? msg(P2P, "frank", `peer${p}`, round) : msg(P2P, `peer${p}`, "frank", round);
          batch.push(m);
          expected.push(m.messageKey);
        }
        const g2 = msg(GROUP, "someone", "g2", round);
        batch.push(g2, msg(GROUP, "someone", "g3", round));
        if (round > 2) expected.push(g2.messageKey); // before frank's join: invisible
      }
      await writeMessages(db, batch);
      await db.messageBody.update({
        where: { messageKey: expected[5] as bigint },
        data: { recalled: true, recallTime: 1n },
      });

      const seen: bigint[] = [];
      let cursor = 0;
      let pages = 0;
      for (;;) {
        const res = await svc.syncDeviceMessages({
          ...base,
          operater: "frank",
          lastSequence: cursor,
          maxLimit: 7,
        });
        pages++;
        expect(res.dataList.length).toBeLessThanOrEqual(7);
        expect(res.maxSequence).toBe(Number(expected[expected.length - 1]));
        seen.push(...res.dataList.map((m) => BigInt(m.messageKey)));
        const recalled = res.dataList.find((m) => BigInt(m.messageKey) === expected[5]);
        if (recalled) expect(recalled).toMatchObject({ recalled: true, messageBody: "" });
        if (res.completed) break;
        cursor = res.dataList[res.dataList.length - 1]?.messageKey ?? cursor;
        expect(pages).toBeLessThan(100);
      }
      expect(seen).toEqual(expected); // every message once, in key order, none invisible
      expect(pages).toBe(Math.ceil(expected.length / 7));
    });

    it("answers a user with nothing stored with an empty, completed page", async () => {
      const res = await svc.syncDeviceMessages({ ...base, operater: "newbie", lastSequence: 0, maxLimit: 0 });
      expect(res).toEqual({ maxSequence: 0, completed: true, dataList: [] });
    });
  });
  describe("recalled messages", () => {
    it("keep their place in every sync, flagged recalled with an empty body", async () => {
      await db.group.create({ data: { appId: APP, groupId: "g4", ownerId: "gina" } });
      await db.groupMember.create({ data: { appId: APP, groupId: "g4", memberId: "gina", role: 2 } });
      const p2p = [msg(P2P, "gina", "hank", 1), msg(P2P, "hank", "gina", 2), msg(P2P, "gina", "hank", 3)];
      const group = [msg(GROUP, "gina", "g4", 1), msg(GROUP, "gina", "g4", 2)];
      await writeMessages(db, [...p2p, ...group]);
      // What MessageService.RecallMessage / 1050 does to the stored body (domain recall.ts).
      const recalledKeys = [p2p[1]?.messageKey, group[0]?.messageKey] as bigint[];
      await db.messageBody.updateMany({
        where: { messageKey: { in: recalledKeys } },
        data: { recalled: true, recallTime: 1n, messageBody: "" },
      });
      const flags = (list: { messageKey: number; recalled: boolean; messageBody: string }[]) =>
        list.map((m) => [m.recalled, m.messageBody === "", recalledKeys.includes(BigInt(m.messageKey))]);
      const live = [false, false, false];
      const gone = [true, true, true];

      const conversation = await svc.syncP2PMessages({
        ...base,
        operater: "hank",
        userId: "",
        toId: "gina",
        lastSequence: 0,
        maxLimit: 0,
      });
      expect(conversation.dataList.map((m) => m.messageSequence)).toEqual([1, 2, 3]);
      expect(flags(conversation.dataList)).toEqual([live, gone, live]);
      const inGroup = await svc.syncGroupMessages({
        ...base,
        operater: "gina",
        userId: "",
        groupId: "g4",
        lastSequence: 0,
        maxLimit: 0,
      });
      expect(flags(inGroup.dataList)).toEqual([gone, live]);
      const batch = await svc.batchSyncMessages({
        ...base,
        operater: "gina",
        userId: "",
        maxCount: 0,
        conversations: [
          { conversationId: "hank", conversationType: ConversationType.CONVERSATION_TYPE_P2P, sequence: 1 },
          { conversationId: "g4", conversationType: ConversationType.CONVERSATION_TYPE_GROUP, sequence: 0 },
        ],
      });
      expect(batch.conversationList.map((c) => flags(c.messages))).toEqual([
        [gone, live],
        [gone, live],
      ]);
      const device = await svc.syncDeviceMessages({
        ...base,
        operater: "gina",
        lastSequence: 0,
        maxLimit: 0,
      });
      expect(device.dataList.map((m) => m.messageKey)).toEqual(
        [...p2p, ...group].map((m) => Number(m.messageKey)),
      );
      expect(flags(device.dataList)).toEqual([live, gone, live, gone, live]);
    });
  });
});
