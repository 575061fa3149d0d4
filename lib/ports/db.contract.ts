import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "../../gen/prisma/client.js";
import { type Database, type DatabaseHandle, isUniqueViolation, type OpenDatabase } from "./db.js";

/**
 * The db port's contract (docs/style.md §5): every adapter runs this suite on a
 * freshly migrated, empty database. It creates and reads every model, and
 * checks the guarantees of db.ts: unique violations (P2002), idempotent
 * inserts, foreign keys, BIGINT round trips and transactions that roll back.
 */
export function dbContract(name: string, open: OpenDatabase): void {
  describe(`db contract: ${name}`, () => {
    let handle: DatabaseHandle;
    let db: Database;
    beforeAll(async () => {
      handle = await open();
      db = handle.db;
    });
    afterAll(async () => {
      await handle?.close();
    });

    it("creates and reads every model", async () => {
      await db.userData.create({
        data: { appId: 1, userId: "u1", nickName: "one", passwordHash: "scrypt$x" },
      });
      await db.friendship.create({ data: { appId: 1, fromId: "u1", toId: "u2", friendSequence: 7n } });
      await db.friendshipRequest.create({ data: { appId: 1, fromId: "u2", toId: "u1", sequence: 3n } });
      const label = await db.friendshipGroup.create({
        data: {
          appId: 1,
          fromId: "u1",
          groupName: "work",
          members: { create: [{ toId: "u2" }, { toId: "u3" }] },
        },
      });
      await db.group.create({ data: { appId: 1, groupId: "g1", ownerId: "u1" } });
      await db.groupMember.create({
        data: { appId: 1, groupId: "g1", memberId: "u1", role: 2, joinSequence: 4n },
      });
      await db.conversationSet.create({
        data: { appId: 1, conversationId: "0_u1_u2", fromId: "u1", toId: "u2", readSequence: 2n },
      });
      await db.messageBody.create({ data: body(1001n, "m1") });
      await db.messageIdempotency.create({
        data: { appId: 1, fromId: "u1", messageId: "m1", messageKey: 1001n },
      });
      await db.messageHistory.create({
        data: {
          appId: 1,
          ownerId: "u1",
          peerId: "u2",
          fromId: "u1",
          toId: "u2",
          messageKey: 1001n,
          sequence: 1n,
          messageTime: 5n,
          createTime: 6n,
        },
      });
      await db.messageBody.create({ data: { ...body(1002n, "m2"), conversationType: 1, toId: "g1" } });
      await db.groupMessageHistory.create({
        data: {
          appId: 1,
          groupId: "g1",
          messageKey: 1002n,
          fromId: "u1",
          sequence: 1n,
          messageTime: 5n,
          createTime: 6n,
        },
      });
      await db.sequenceHighWater.create({ data: { appId: 1, seqKey: "group:g1", maxValue: 1000n } });

      expect(
        (await db.userData.findUniqueOrThrow({ where: { appId_userId: { appId: 1, userId: "u1" } } }))
          .friendAllowType,
      ).toBe(1);
      expect((await db.friendship.findFirstOrThrow({ where: { fromId: "u1" } })).friendSequence).toBe(7n);
      expect((await db.friendshipRequest.findFirstOrThrow({ where: { toId: "u1" } })).approveStatus).toBe(0);
      const members = await db.friendshipGroupMember.findMany({
        where: { groupId: label.groupId },
        orderBy: { toId: "asc" },
      });
      expect(members.map((m) => m.toId)).toEqual(["u2", "u3"]); // D23: many friends per label
      expect((await db.group.findFirstOrThrow({ where: { groupId: "g1" } })).status).toBe(1);
      expect((await db.groupMember.findFirstOrThrow({ where: { memberId: "u1" } })).joinSequence).toBe(4n);
      expect((await db.conversationSet.findFirstOrThrow({ where: { fromId: "u1" } })).readSequence).toBe(2n);
      const h = await db.messageHistory.findFirstOrThrow({
        where: { ownerId: "u1" },
        include: { body: true },
      });
      expect(h.body.messageBody).toBe("text m1");
      const g = await db.groupMessageHistory.findFirstOrThrow({
        where: { groupId: "g1" },
        include: { body: true },
      });
      expect(g.body.recalled).toBe(false);
      expect(
        (
          await db.messageIdempotency.findUniqueOrThrow({
            where: { appId_fromId_messageId: { appId: 1, fromId: "u1", messageId: "m1" } },
          })
        ).messageKey,
      ).toBe(1001n);
      expect((await db.sequenceHighWater.findFirstOrThrow({ where: { seqKey: "group:g1" } })).maxValue).toBe(
        1000n,
      );
    });

    it("round-trips BIGINT values above 2^53", async () => {
      const key = 2n ** 62n + 1n;
      await db.messageBody.create({ data: body(key, "big") });
      expect((await db.messageBody.findUniqueOrThrow({ where: { messageKey: key } })).messageKey).toBe(key);
    });

    it("rejects a duplicate key with P2002", async () => {
      await db.messageBody.create({ data: body(2001n, "dup") });
      const sameKey = await db.messageBody.create({ data: body(2001n, "other") }).catch((e: unknown) => e);
      expect(isUniqueViolation(sameKey)).toBe(true);
      // the sender's idempotency id is unique too, whatever the key (its own table: the body
      // table is partitioned by key)
      const id = { appId: 1, fromId: "u1", messageId: "dup" };
      await db.messageIdempotency.create({ data: { ...id, messageKey: 2001n } });
      const sameMessageId = await db.messageIdempotency
        .create({ data: { ...id, messageKey: 2002n } })
        .catch((e: unknown) => e);
      expect(isUniqueViolation(sameMessageId)).toBe(true);
      await db.groupMember.create({ data: { appId: 1, groupId: "g2", memberId: "u9" } });
      const member = await db.groupMember
        .create({ data: { appId: 1, groupId: "g2", memberId: "u9" } })
        .catch((e: unknown) => e);
      expect(isUniqueViolation(member)).toBe(true);
      expect(isUniqueViolation(new Error("P2002"))).toBe(false);
    });

    it("skips duplicates idempotently and reports only the new rows", async () => {
      const first = await db.messageBody.createManyAndReturn({
        data: [body(3001n, "a"), body(3002n, "b")],
        skipDuplicates: true,
        select: { messageKey: true },
      });
      expect(first.map((r) => r.messageKey).sort()).toEqual([3001n, 3002n]);
      // same keys again, one new
      const again = await db.messageBody.createManyAndReturn({
        data: [body(3001n, "a"), body(3003n, "c")],
        skipDuplicates: true,
        select: { messageKey: true },
      });
      expect(again.map((r) => r.messageKey)).toEqual([3003n]);
      // an id already taken is skipped whatever its key
      const id = (messageId: string, messageKey: bigint) => ({
        appId: 1,
        fromId: "u1",
        messageId,
        messageKey,
      });
      await db.messageIdempotency.createMany({ data: [id("a", 3001n), id("b", 3002n)] });
      const ids = await db.messageIdempotency.createManyAndReturn({
        data: [id("b", 3009n), id("c", 3003n)],
        skipDuplicates: true,
        select: { messageKey: true },
      });
      expect(ids.map((r) => r.messageKey)).toEqual([3003n]);
      const count = await db.messageBody.createMany({ data: [body(3003n, "c")], skipDuplicates: true });
      expect(count.count).toBe(0);
    });

    it("enforces the history → body foreign key", async () => {
      const err = await db.messageHistory
        .create({
          data: {
            appId: 1,
            ownerId: "u1",
            peerId: "u2",
            fromId: "u1",
            toId: "u2",
            messageKey: 999_999n,
            sequence: 1n,
            messageTime: 1n,
            createTime: 1n,
          },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      expect((err as Prisma.PrismaClientKnownRequestError).code).toBe("P2003");
    });

    it("rolls back an interactive transaction that throws", async () => {
      const err = await db
        .$transaction(async (tx) => {
          await tx.messageBody.create({ data: body(4001n, "tx") });
          await tx.messageBody.create({ data: body(4001n, "tx-again") }); // P2002
        })
        .catch((e: unknown) => e);
      expect(isUniqueViolation(err)).toBe(true);
      expect(await db.messageBody.count({ where: { messageKey: 4001n } })).toBe(0);

      const fail = await db
        .$transaction(async (tx) => {
          await tx.group.create({ data: { appId: 1, groupId: "g-tx", ownerId: "u1" } });
          throw new Error("abort");
        })
        .catch((e: unknown) => e);
      expect((fail as Error).message).toBe("abort");
      expect(await db.group.count({ where: { groupId: "g-tx" } })).toBe(0);
    });

    it("commits a transaction and runs raw queries", async () => {
      await db.$transaction(async (tx) => {
        await tx.messageBody.create({ data: body(5001n, "ok") });
        await tx.messageHistory.createMany({
          data: [
            {
              appId: 1,
              ownerId: "a",
              peerId: "b",
              fromId: "a",
              toId: "b",
              messageKey: 5001n,
              sequence: 1n,
              messageTime: 1n,
              createTime: 1n,
            },
            {
              appId: 1,
              ownerId: "b",
              peerId: "a",
              fromId: "a",
              toId: "b",
              messageKey: 5001n,
              sequence: 1n,
              messageTime: 1n,
              createTime: 1n,
            },
          ],
        });
      });
      const rows = await db.$queryRaw<
        { n: bigint }[]
      >`SELECT count(*) AS n FROM im_message_history WHERE message_key = ${5001n}`;
      expect(Number(rows[0]?.n)).toBe(2);
    });
  });
}

/** A P2P message body from u1 to u2. */
function body(messageKey: bigint, messageId: string): Prisma.MessageBodyCreateManyInput {
  return {
    messageKey,
    appId: 1,
    conversationType: 0,
    fromId: "u1",
    toId: "u2",
    messageId,
    messageSequence: 1n,
    messageBody: `text ${messageId}`,
    messageTime: 5n,
    createTime: 6n,
  };
}
