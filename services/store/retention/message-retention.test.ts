import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { decodeMessageKey, MessageKeyGenerator } from "../../../lib/ids/index.js";
import type { Database } from "../../../lib/ports/db.js";
import { bothDatabases, withTestDatabase } from "../../../lib/testing/both-databases.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { StoredMessage } from "../consumer/jobs.js";
import { writeMessages } from "../consumer/message-writer.js";
import { createMonthPartitions, listPartitions, monthRange } from "../partitions/message-partitions.js";
import { deleteExpiredBatch, retentionCutoffKey, startRetention, sweepExpired } from "./message-retention.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const logger = pino({ level: "silent" });

describe("retentionCutoffKey", () => {
  it("is the first key of the cutoff's second: older keys are below it, keys of that second not", () => {
    const cutoff = retentionCutoffKey(NOW, 30);
    const at = (ms: number, worker = 0) => BigInt(new MessageKeyGenerator(worker, () => ms).next());
    expect(cutoff).toBe(at(NOW - 30 * DAY));
    expect(at(NOW - 30 * DAY - 1000, 31)).toBeLessThan(cutoff);
    expect(at(NOW - 30 * DAY + 999)).toBeGreaterThanOrEqual(cutoff);
    expect(decodeMessageKey(Number(cutoff)).epochSeconds).toBe((NOW - 30 * DAY) / 1000);
  });

  it("is 0 (nothing older) when the window reaches back before the key epoch (2019)", () => {
    expect(retentionCutoffKey(NOW, 36_500)).toBe(0n);
  });
});

/** The retention SQL runs on both adapters of the db port (distributed and embedded). */
const databases = bothDatabases(2);

describe.each(databases)("message retention (store.retentionDays; %s)", (_name, openDb) => {
  let db!: Database;
  let app = 700;

  withTestDatabase(openDb, (opened) => {
    db = opened;
  });

  /** Messages accepted `ageDays` before NOW: P2P between a and b (and to self), group to g1. */
  async function seed(
    appId: number,
    ageDays: number,
    count: number,
    worker: number,
  ): Promise<StoredMessage[]> {
    const keys = new MessageKeyGenerator(worker, () => NOW - ageDays * DAY);
    const out: StoredMessage[] = [];
    for (let i = 0; i < count; i++) {
      const key = BigInt(keys.next());
      const kind = i % 3;
      const [type, from, to]: [typeof P2P | typeof GROUP, string, string] =
        kind === 0 ? [P2P, "a", "b"] : kind === 1 ? [P2P, "a", "a"] : [GROUP, "b", "g1"];
      out.push({
        conversationType: type,
        appId,
        messageKey: key,
        messageId: `${ageDays}-${worker}-${i}`,
        fromId: from,
        toId: to,
        sequence: BigInt(i + 1 + ageDays * 1000),
        body: `age ${ageDays} #${i}`,
        messageTime: key,
        extra: "",
        acceptedTime: key,
      });
    }
    await writeMessages(db, out);
    return out;
  }

  const counts = async (appId: number) => ({
    bodies: await db.messageBody.count({ where: { appId } }),
    p2p: await db.messageHistory.count({ where: { appId } }),
    group: await db.groupMessageHistory.count({ where: { appId } }),
    conversations: await db.conversationSet.count({ where: { appId } }),
    ids: await db.messageIdempotency.count({ where: { appId } }),
  });

  it("deletes the messages older than the window with their history rows, and nothing newer", async () => {
    const appId = app++;
    await seed(appId, 40, 30, 1); // 10 P2P a→b (2 rows each), 10 to self (1 row), 10 group
    const kept = await seed(appId, 5, 9, 2);
    const before = await counts(appId);
    expect(before).toEqual({ bodies: 39, p2p: 30 + 9, group: 13, conversations: 3, ids: 39 });

    const result = await sweepExpired(db, retentionCutoffKey(NOW, 30), {
      batchSize: 1000,
      maxBatches: 10,
      pauseMs: 0,
    });
    // one batch of messages, then one of leftover sender ids (none: they went with their bodies)
    expect(result).toEqual({
      bodies: 30,
      histories: 30 + 10,
      ids: 30,
      partitions: [],
      batches: 2,
      done: true,
    });
    expect(await counts(appId)).toEqual({ bodies: 9, p2p: 9, group: 3, conversations: 3, ids: 9 });
    const left = await db.messageBody.findMany({ where: { appId }, orderBy: { messageKey: "asc" } });
    expect(left.map((m) => m.messageKey)).toEqual(kept.map((m) => m.messageKey));
  });

  it("works in bounded batches: each batch deletes at most batchSize, a sweep at most maxBatches", async () => {
    const appId = app++;
    await seed(appId, 50, 25, 3);
    const cutoff = retentionCutoffKey(NOW, 30);
    expect(await deleteExpiredBatch(db, cutoff, 10)).toMatchObject({ bodies: 10 });
    const bounded = await sweepExpired(db, cutoff, { batchSize: 5, maxBatches: 2, pauseMs: 1 });
    expect(bounded).toMatchObject({ bodies: 10, batches: 2, done: false });
    const rest = await sweepExpired(db, cutoff, { batchSize: 5, maxBatches: 10, pauseMs: 0 });
    // the last full batch cannot know it was the last: one more finds nothing (then one of ids)
    expect(rest).toMatchObject({ bodies: 5, batches: 3, done: true });
    expect(await counts(appId)).toMatchObject({ bodies: 0, p2p: 0, group: 0, ids: 0 });
    // nothing left: a sweep finds nothing and says so
    expect(await sweepExpired(db, cutoff, { batchSize: 5, maxBatches: 10, pauseMs: 0 })).toEqual({
      bodies: 0,
      histories: 0,
      ids: 0,
      partitions: [],
      batches: 2,
      done: true,
    });
  });

  it("a stopped sweep ends after the batch in hand", async () => {
    const appId = app++;
    await seed(appId, 70, 12, 6);
    const signal = AbortSignal.abort();
    const none = await sweepExpired(db, retentionCutoffKey(NOW, 30), {
      batchSize: 4,
      maxBatches: 10,
      pauseMs: 0,
      signal,
    });
    expect(none).toMatchObject({ bodies: 0, batches: 0, done: false });
    // stopped during its first batch's pause (long, so the poll below sees that batch done)
    const controller = new AbortController();
    const sweep = sweepExpired(db, retentionCutoffKey(NOW, 30), {
      batchSize: 4,
      maxBatches: 10,
      pauseMs: 1_000,
      signal: controller.signal,
    });
    while ((await counts(appId)).bodies > 8) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    expect(await sweep).toMatchObject({ bodies: 4, batches: 1, done: false });
    expect((await counts(appId)).bodies).toBe(8);
    await sweepExpired(db, retentionCutoffKey(NOW, 30), { batchSize: 100, maxBatches: 1, pauseMs: 0 });
  });

  it("a message stored again after retention removed it is a new row (the writer's idempotency is by key)", async () => {
    const appId = app++;
    const [old] = await seed(appId, 60, 1, 4);
    await sweepExpired(db, retentionCutoffKey(NOW, 30), { batchSize: 100, maxBatches: 1, pauseMs: 0 });
    expect(await counts(appId)).toMatchObject({ bodies: 0, p2p: 0 });
    expect((await writeMessages(db, old ? [old] : [])).stored).toBe(1);
  });

  it("startRetention sweeps on its own, works off a backlog sweep after sweep, and 0 days starts nothing", async () => {
    const appId = app++;
    await seed(appId, 45, 6, 5);
    const off = startRetention({
      db,
      logger,
      retentionDays: 0,
      intervalMs: 10,
      batchSize: 10,
      maxBatches: 1,
      pauseMs: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await off.stop();
    expect((await counts(appId)).bodies).toBe(6);

    // one batch of 4 per sweep and a minute between sweeps: only the continuation after a
    // bounded sweep can delete all 6 within the wait below
    const on = startRetention({
      db,
      logger,
      retentionDays: 30,
      intervalMs: 60_000,
      startAfterMs: 10,
      continueAfterMs: 10,
      batchSize: 4,
      maxBatches: 1,
      pauseMs: 0,
      clock: () => NOW,
    });
    const deadline = Date.now() + 10_000;
    while ((await counts(appId)).bodies > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await on.stop();
    // two sweeps (4, then 2), nothing left
    expect(await counts(appId)).toMatchObject({ bodies: 0, p2p: 0, group: 0 });
  });

  // Last: it drops partitions, which hold every app's rows of their months.
  it("drops the months wholly older than the window, deletes the rest row by row, then the dropped months' ids", async () => {
    const appId = app++;
    // months no other test writes to: March to May (expired whole) and November (cut by the
    // cutoff, Nov 6); NOW's December exists already (the migration makes the current months)
    const months = [2, 3, 4, 10].map((m) => monthRange(Date.UTC(2026, m, 15)));
    expect((await createMonthPartitions(db, months)).failed).toEqual([]);
    await seed(appId, 270, 6, 7); // March 11
    await seed(appId, 240, 6, 8); // April 10
    const cut = await seed(appId, 35, 6, 9); // November 1: expired, in the month the cutoff cuts
    const kept = await seed(appId, 25, 6, 10); // November 11
    const where = await db.$queryRaw<{ partition: string; n: bigint }[]>`
      SELECT tableoid::regclass::text AS partition, count(*) AS n FROM im_message_body
      WHERE app_id = ${appId} GROUP BY 1 ORDER BY 1`;
    expect(where.map((r) => [r.partition, Number(r.n)])).toEqual([
      ["im_message_body_p202603", 6],
      ["im_message_body_p202604", 6],
      ["im_message_body_p202611", 12],
    ]);

    const result = await sweepExpired(db, retentionCutoffKey(NOW, 30), {
      batchSize: 4,
      maxBatches: 100,
      pauseMs: 0,
    });
    expect(result.partitions.sort()).toEqual(
      ["im_group_message_history", "im_message_body", "im_message_history"].flatMap((t) =>
        ["202603", "202604", "202605"].map((m) => `${t}_p${m}`),
      ),
    );
    // rows deleted one by one: November's expired 6 and their ids, then March's and April's ids
    expect(result).toMatchObject({ bodies: cut.length, ids: 6 + 6 + cut.length, done: true });
    expect(await counts(appId)).toMatchObject({ bodies: kept.length, ids: kept.length });
    const left = await db.messageBody.findMany({ where: { appId }, orderBy: { messageKey: "asc" } });
    expect(left.map((m) => m.messageKey)).toEqual(kept.map((m) => m.messageKey));
    const names = (await listPartitions(db)).map((p) => p.name);
    expect(names).toContain("im_message_body_p202611");
    expect(names.filter((n) => /_p20260[345]$/.test(n))).toEqual([]);
    // what was dropped is gone for good: its keys can be written again (a replayed job)
    expect((await writeMessages(db, cut.slice(0, 1))).stored).toBe(1);
  });
});
