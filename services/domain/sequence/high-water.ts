import type { Database, DatabaseTransaction } from "../../../lib/ports/db.js";

/**
 * The durable side of sequence allocation: rows of `im_sequence_high_water`
 * (schema.prisma SequenceHighWater), one per counter, holding a value no
 * sequence handed out so far exceeds.
 *
 * Every write is monotonic (`GREATEST`), so any number of domain processes
 * may raise the same row concurrently in any order and the row never moves
 * back. Plain SQL that PostgreSQL and PGlite both run.
 */

/** The database, or a transaction on it. */
type Sql = Database | DatabaseTransaction;

/**
 * Raises the mark of `seqKey` to at least `atLeast` (creating the row) and
 * returns the mark after the write, which may be higher (another process
 * raised it further).
 */
export async function raiseHighWater(
  db: Sql,
  appId: number,
  seqKey: string,
  atLeast: number,
): Promise<number> {
  const rows = await db.$queryRaw<{ max_value: bigint }[]>`
    INSERT INTO im_sequence_high_water (app_id, seq_key, max_value, updated_at)
    VALUES (${appId}, ${seqKey}, ${BigInt(atLeast)}, now())
    ON CONFLICT (app_id, seq_key) DO UPDATE
      SET max_value = GREATEST(im_sequence_high_water.max_value, EXCLUDED.max_value), updated_at = now()
    RETURNING max_value`;
  return Number(firstValue(rows));
}

/**
 * Inside a transaction: creates the row of `seqKey` with mark `initial` when
 * there is none, else locks it (FOR UPDATE) until the transaction ends, so
 * no other process raises or reopens the counter meanwhile. `created` tells
 * whether this call made the row, i.e. no sequence of this counter was ever
 * handed out anywhere; `maxValue` is the mark.
 */
export async function lockHighWater(
  tx: DatabaseTransaction,
  appId: number,
  seqKey: string,
  initial: number,
): Promise<{ created: boolean; maxValue: number }> {
  const inserted = await tx.$queryRaw<{ max_value: bigint }[]>`
    INSERT INTO im_sequence_high_water (app_id, seq_key, max_value, updated_at)
    VALUES (${appId}, ${seqKey}, ${BigInt(initial)}, now())
    ON CONFLICT (app_id, seq_key) DO NOTHING
    RETURNING max_value`;
  if (inserted.length > 0) return { created: true, maxValue: Number(firstValue(inserted)) };
  const rows = await tx.$queryRaw<{ max_value: bigint }[]>`
    SELECT max_value FROM im_sequence_high_water WHERE app_id = ${appId} AND seq_key = ${seqKey} FOR UPDATE`;
  return { created: false, maxValue: Number(firstValue(rows)) };
}

function firstValue(rows: { max_value: bigint }[]): bigint {
  const row = rows[0];
  if (row === undefined) throw new Error("im_sequence_high_water: the statement returned no row");
  return BigInt(row.max_value);
}
