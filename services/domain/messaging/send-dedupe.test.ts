import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MigratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { WipeableKv } from "../../../lib/testing/wipeable-kv.js";
import { CLOCK_AHEAD_MS, RECENT_MARGIN_MS, SendDedupe } from "./send-dedupe.js";

/**
 * When kv alone may answer "this send is new" (send-dedupe.ts): only for a
 * messageTime well inside the window kv is known to hold every acceptance
 * of; everything else asks the database, which still recognises retries.
 */
const APP = 10001;
const TTL = 300_000;
let database: MigratedTestDatabase;
let kv: WipeableKv;
let dedupe: SendDedupe;

beforeAll(async () => {
  database = await migratedTestDatabase();
  // as the store writes a message: its sender's id row, then its body
  await database.db.messageIdempotency.create({
    data: { appId: APP, fromId: "alice", messageId: "stored-long-ago", messageKey: 77n },
  });
  await database.db.messageBody.create({
    data: {
      messageKey: 77n,
      appId: APP,
      conversationType: 0,
      fromId: "alice",
      toId: "bob",
      messageId: "stored-long-ago",
      messageSequence: 5n,
      messageBody: "hi",
      messageTime: BigInt(Date.now() - 3_600_000),
      createTime: BigInt(Date.now() - 3_600_000),
    },
  });
});
afterAll(() => database?.close());
beforeEach(() => {
  kv = new WipeableKv();
  dedupe = new SendDedupe({ kv, db: async () => database.db, ttlMs: TTL });
});

/** kv has held dedupe records for `ageMs`. */
async function kvHoldingFor(ageMs: number): Promise<void> {
  await kv.set("dedupe:epoch", String(Date.now() - ageMs));
}

describe("SendDedupe: kv alone answers only inside its complete window", () => {
  it("asks the database while kv is new (its records start now), then answers recent sends alone", async () => {
    expect(await dedupe.find(APP, "alice", "m1", Date.now())).toBeNull();
    expect([dedupe.kvAnswers, dedupe.databaseAnswers]).toEqual([0, 1]);
    await kvHoldingFor(10 * 60_000);
    expect(await dedupe.find(APP, "alice", "m2", Date.now())).toBeNull();
    expect(await dedupe.find(APP, "alice", "m3", Date.now() + CLOCK_AHEAD_MS - 1_000)).toBeNull();
    expect([dedupe.kvAnswers, dedupe.databaseAnswers]).toEqual([2, 1]);
  });

  it("asks the database for a send without messageTime, an old one, or one from a clock far ahead", async () => {
    await kvHoldingFor(10 * 60_000);
    await dedupe.find(APP, "alice", "a", 0);
    await dedupe.find(APP, "alice", "b", Date.now() - TTL + RECENT_MARGIN_MS - 1_000);
    await dedupe.find(APP, "alice", "c", Date.now() + CLOCK_AHEAD_MS + 1_000);
    expect([dedupe.kvAnswers, dedupe.databaseAnswers]).toEqual([0, 3]);
  });

  it("still recognises a retry from long ago through the database, with its first answer", async () => {
    await kvHoldingFor(10 * 60_000);
    const found = await dedupe.find(APP, "alice", "stored-long-ago", Date.now() - 3_600_000);
    expect(found).toMatchObject({
      state: "accepted",
      message: { messageKey: 77, messageSequence: 5, messageId: "stored-long-ago" },
    });
    expect(dedupe.databaseAnswers).toBe(1);
    // ... and remembers it in kv, so the next retry needs no query.
    expect(await dedupe.find(APP, "alice", "stored-long-ago", Date.now() - 3_600_000)).toMatchObject({
      message: { messageKey: 77 },
    });
    expect(dedupe.databaseAnswers).toBe(1);
  });

  it("asks the database again after kv lost its data, so a recent acceptance is still found", async () => {
    await kvHoldingFor(10 * 60_000);
    // "stored-long-ago" stands for any message whose kv record went with the wipe.
    kv.wipe();
    expect(await dedupe.find(APP, "alice", "stored-long-ago", Date.now())).toMatchObject({
      message: { messageKey: 77 },
    });
    expect([dedupe.kvAnswers, dedupe.databaseAnswers]).toEqual([0, 1]);
    expect(await kv.get("dedupe:epoch")).not.toBeNull();
  });

  it("batches the database lookups of concurrent sends into one query", async () => {
    let queries = 0;
    const counting = new SendDedupe({
      kv,
      ttlMs: TTL,
      db: async () => {
        queries++;
        return database.db;
      },
    });
    const found = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        counting.find(APP, "alice", i === 7 ? "stored-long-ago" : `n${i}`),
      ),
    );
    expect(found.filter((f) => f !== null)).toHaveLength(1);
    expect(queries).toBe(1);
  });
});
