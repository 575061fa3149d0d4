import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "../../gen/prisma/client.js";
import {
  type Database,
  type DatabaseHandle,
  type DbErrorKind,
  isDbError,
  isUniqueViolation,
  type OpenDatabase,
} from "./db.js";

/** How an adapter runs transactions, which decides whether two of them can conflict. */
export interface DbContractOptions {
  /**
   * `concurrent`: PostgreSQL, a pool of connections; two transactions can conflict (a
   * serialization failure, a deadlock). `one-at-a-time`: PGlite, one connection; a transaction
   * waits until the one before it has ended, so no write conflict can arise. A COMMIT can fail on
   * both (a deferred constraint here; on PGlite in production only an I/O error).
   */
  transactions: "concurrent" | "one-at-a-time";
}

/**
 * The db port's contract (docs/style.md §5): every adapter runs this suite on a
 * freshly migrated, empty database. It creates and reads every model, and
 * checks the guarantees of db.ts: the port's errors (DbError) from model and raw
 * queries, inside transactions and from their commit, idempotent inserts, foreign
 * keys, BIGINT round trips and transactions that roll back.
 */
export function dbContract(name: string, open: OpenDatabase, options: DbContractOptions): void {
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

    it("rejects a duplicate key with the port's unique-violation, from model and raw queries", async () => {
      await db.messageBody.create({ data: body(2001n, "dup") });
      const sameKey = await db.messageBody.create({ data: body(2001n, "other") }).catch((e: unknown) => e);
      expectDbError(sameKey, "unique-violation");
      expect((sameKey as Error).message).not.toContain("text other"); // no value of the row
      expect((sameKey as Error).cause).toBeDefined(); // the driver's error, for logs
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
      const many = await db.groupMember
        .createMany({ data: [{ appId: 1, groupId: "g2", memberId: "u9" }] })
        .catch((e: unknown) => e);
      expectDbError(many, "unique-violation");
      const raw = await db.$executeRaw`
        INSERT INTO im_group_member (app_id, group_id, member_id) VALUES (1, 'g2', 'u9')`.catch(
        (e: unknown) => e,
      );
      expectDbError(raw, "unique-violation");
      const rawQuery = await db.$queryRaw`
        INSERT INTO im_group_member (app_id, group_id, member_id) VALUES (1, 'g2', 'u9') RETURNING 1`.catch(
        (e: unknown) => e,
      );
      expectDbError(rawQuery, "unique-violation");
      expect(isUniqueViolation(new Error("unique constraint violated"))).toBe(false);
    });

    it("rejects a value longer than its column with the port's value-too-long", async () => {
      const long = "x".repeat(51); // user_id is VARCHAR(50)
      const model = await db.userData.create({ data: { appId: 1, userId: long } }).catch((e: unknown) => e);
      expectDbError(model, "value-too-long");
      expect((model as Error).message).not.toContain(long);
      const raw = await db.$executeRaw`
        INSERT INTO im_user_data (app_id, user_id) VALUES (1, ${long})`.catch((e: unknown) => e);
      expectDbError(raw, "value-too-long");
      expect(await db.userData.count({ where: { appId: 1, userId: { startsWith: "xxx" } } })).toBe(0);
    });

    it("passes every other failure on as the client reports it", async () => {
      const notFound = await db.messageBody
        .findUniqueOrThrow({ where: { messageKey: 123_456_789n } })
        .catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(Error);
      expect(isDbError(notFound)).toBe(false);
      const badSql = await db.$queryRaw`SELECT 1 / 0`.catch((e: unknown) => e);
      expect(badSql).toBeInstanceOf(Error);
      expect(isDbError(badSql)).toBe(false);
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
      expectDbError(err, "foreign-key-violation");
      const raw = await db.$executeRaw`
        INSERT INTO im_group_message_history
          (app_id, group_id, message_key, from_id, sequence, message_time, create_time)
        VALUES (1, 'g1', 999999, 'u1', 1, 1, 1)`.catch((e: unknown) => e);
      expectDbError(raw, "foreign-key-violation");
    });

    it("rolls back an interactive transaction that throws", async () => {
      const err = await db
        .$transaction(async (tx) => {
          await tx.messageBody.create({ data: body(4001n, "tx") });
          await tx.messageBody.create({ data: body(4001n, "tx-again") }); // a duplicate key
        })
        .catch((e: unknown) => e);
      expectDbError(err, "unique-violation");
      expect(await db.messageBody.count({ where: { messageKey: 4001n } })).toBe(0);

      const raw = await db
        .$transaction(async (tx) => {
          await tx.messageBody.create({ data: body(4002n, "tx-raw") });
          await tx.$executeRaw`
            INSERT INTO im_user_data (app_id, user_id) VALUES (1, ${"y".repeat(51)})`;
        })
        .catch((e: unknown) => e);
      expectDbError(raw, "value-too-long");
      expect(await db.messageBody.count({ where: { messageKey: 4002n } })).toBe(0);

      const fail = await db
        .$transaction(async (tx) => {
          await tx.group.create({ data: { appId: 1, groupId: "g-tx", ownerId: "u1" } });
          throw new Error("abort");
        })
        .catch((e: unknown) => e);
      expect((fail as Error).message).toBe("abort");
      expect(await db.group.count({ where: { groupId: "g-tx" } })).toBe(0);
    });

    it("rolls back a batch transaction and rejects it with the port's error", async () => {
      await db.messageBody.create({ data: body(4101n, "batch") });
      const err = await db
        .$transaction([
          db.messageBody.create({ data: body(4102n, "batch-new") }),
          db.$executeRaw`INSERT INTO im_message_id (app_id, from_id, message_id, message_key)
            VALUES (1, 'u1', 'batch', 4102)`,
          db.messageBody.create({ data: body(4101n, "batch-again") }),
        ])
        .catch((e: unknown) => e);
      expectDbError(err, "unique-violation");
      expect(await db.messageBody.count({ where: { messageKey: 4102n } })).toBe(0);
      expect(await db.messageIdempotency.count({ where: { messageId: "batch" } })).toBe(0);
    });

    it("rejects a transaction whose COMMIT fails with the port's error, and the next one commits", async () => {
      // A deferred constraint is checked at COMMIT: the statements succeed, the commit does not.
      // (The schema has none; a temporary table of this transaction's session stands in.)
      const err = await db
        .$transaction(async (tx) => {
          await tx.$executeRaw`
            CREATE TEMPORARY TABLE commit_probe (k int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP`;
          await tx.$executeRaw`INSERT INTO commit_probe VALUES (1), (1)`;
          await tx.messageBody.create({ data: body(4201n, "commit") });
        })
        .catch((e: unknown) => e);
      expectDbError(err, "unique-violation");
      expect(await db.messageBody.count({ where: { messageKey: 4201n } })).toBe(0);
      await db.$transaction(async (tx) => {
        await tx.messageBody.create({ data: body(4202n, "after-commit") });
      });
      expect(await db.messageBody.count({ where: { messageKey: 4202n } })).toBe(1);
    });

    if (options.transactions === "concurrent") {
      it("rejects the loser of two conflicting transactions with the port's write-conflict", async () => {
        await db.sequenceHighWater.create({ data: { appId: 1, seqKey: "conflict", maxValue: 1n } });
        const key = { appId_seqKey: { appId: 1, seqKey: "conflict" } };
        const read = latch();
        const written = latch();
        // SERIALIZABLE: the first one reads the row, a second one updates it and commits, then the
        // first one's update of the same row is a serialization failure (SQLSTATE 40001).
        const loser = db
          .$transaction(
            async (tx) => {
              await tx.sequenceHighWater.findUniqueOrThrow({ where: key });
              read.open();
              await written.wait;
              await tx.sequenceHighWater.update({ where: key, data: { maxValue: 3n } });
            },
            { isolationLevel: "Serializable" },
          )
          .catch((e: unknown) => e);
        await read.wait;
        await db.sequenceHighWater.update({ where: key, data: { maxValue: 2n } });
        written.open();
        expectDbError(await loser, "write-conflict");
        expect((await db.sequenceHighWater.findUniqueOrThrow({ where: key })).maxValue).toBe(2n);
      });
    } else {
      it("runs a transaction only after the one before it has ended, so none can conflict", async () => {
        const started = latch();
        const release = latch();
        const order: string[] = [];
        const first = db.$transaction(async (tx) => {
          await tx.messageBody.create({ data: body(4301n, "first") });
          started.open();
          await release.wait;
          order.push("first ends");
        });
        await started.wait;
        const second = db.$transaction(async (tx) => {
          order.push("second starts");
          await tx.messageBody.update({ where: { messageKey: 4301n }, data: { messageBody: "second" } });
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push("released");
        release.open();
        await Promise.all([first, second]);
        expect(order).toEqual(["released", "first ends", "second starts"]);
        expect((await db.messageBody.findUniqueOrThrow({ where: { messageKey: 4301n } })).messageBody).toBe(
          "second",
        );
      });
    }

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

/** Asserts that `err` is the db port's error of `kind`, with the driver's error as its cause. */
function expectDbError(err: unknown, kind: DbErrorKind): void {
  expect(isDbError(err) ? err.kind : err).toBe(kind);
  expect((err as Error).cause).toBeDefined();
}

/** A promise that resolves when `open()` is called. */
function latch(): { wait: Promise<void>; open(): void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
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
