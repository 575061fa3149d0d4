import { Prisma, type PrismaClient } from "../../../gen/prisma/client.js";
import { isUniqueViolation } from "../../../lib/ports/db.js";

/** Attempts of one transaction that lost a race (see {@link transaction}). */
const ATTEMPTS = 3;

/**
 * Runs `fn` in one interactive transaction (READ COMMITTED on PostgreSQL).
 * Two calls that race to insert the same row (a unique violation, P2002) or
 * deadlock on row locks (P2034 or SQLSTATE 40P01) are retried from the start,
 * up to three attempts in all: the loser then sees the winner's row and takes
 * the "exists" path instead of failing with 90000.
 */
export async function transaction<T>(
  db: PrismaClient,
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(fn, { maxWait: 5_000, timeout: 15_000 });
    } catch (error) {
      if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}

function isRetryable(error: unknown): boolean {
  if (isUniqueViolation(error)) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2034") return true;
  return error instanceof Error && /deadlock detected|40P01|could not serialize/i.test(error.message);
}
