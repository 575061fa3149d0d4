import { type Database, type DatabaseTransaction, isDbError } from "../../../lib/ports/db.js";

/** Attempts of one transaction that lost a race (see {@link transaction}). */
const ATTEMPTS = 3;

/**
 * Runs `fn` in one interactive transaction (READ COMMITTED on PostgreSQL).
 * Two calls that race to insert the same row (the db port's `unique-violation`)
 * or deadlock on row locks (`write-conflict`, raised by a statement or the
 * commit) are retried from the start, up to three attempts in all: the loser
 * then sees the winner's row and takes the "exists" path instead of failing
 * with 90000.
 */
export async function transaction<T>(db: Database, fn: (tx: DatabaseTransaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(fn, { maxWait: 5_000, timeout: 15_000 });
    } catch (error) {
      if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}

function isRetryable(error: unknown): boolean {
  return isDbError(error, "unique-violation") || isDbError(error, "write-conflict");
}
