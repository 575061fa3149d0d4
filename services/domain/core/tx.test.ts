import { describe, expect, it } from "vitest";
import { type Database, DbError } from "../../../lib/ports/db.js";
import { transaction } from "./tx.js";

/** A database whose transactions fail with `failures` in turn, then run the callback. */
function flaky(failures: unknown[]): { db: Database; attempts: () => number } {
  let attempts = 0;
  const db = {
    $transaction: async (fn: (tx: unknown) => Promise<unknown>) => {
      attempts++;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return fn({});
    },
  } as unknown as Database;
  return { db, attempts: () => attempts };
}

describe("transaction (retried when it loses a race)", () => {
  it("runs again after a unique violation or a write conflict, up to three attempts", async () => {
    const raced = flaky([new DbError("unique-violation"), new DbError("write-conflict")]);
    expect(await transaction(raced.db, async () => "done")).toBe("done");
    expect(raced.attempts()).toBe(3);

    const lost = new DbError("write-conflict");
    const always = flaky([new DbError("write-conflict"), new DbError("unique-violation"), lost]);
    await expect(transaction(always.db, async () => "never")).rejects.toBe(lost);
    expect(always.attempts()).toBe(3);
  });

  it("does not retry any other failure", async () => {
    for (const failure of [
      new DbError("value-too-long"),
      new DbError("foreign-key-violation"),
      new Error("down"),
    ]) {
      const once = flaky([failure]);
      await expect(transaction(once.db, async () => "never")).rejects.toBe(failure);
      expect(once.attempts()).toBe(1);
    }
  });
});
