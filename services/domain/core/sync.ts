import { pageSize } from "./guards.js";

/**
 * Incremental sync pages (common.proto §4, spec §8): rows with sequence >
 * last_sequence, ascending, at most min(max_limit, 100); `completed` when no
 * row follows this page; `max_sequence` the caller's highest sequence (0 when
 * none). Queries fetch one row more than the page to learn `completed`
 * without a count.
 */
export interface SyncWindow {
  /** Rows to fetch: the page size plus one. */
  take: number;
  /** The exclusive lower bound as the database's bigint. */
  after: bigint;
  /** Turns the fetched rows into the page. */
  page<T>(rows: T[]): { dataList: T[]; completed: boolean };
}

/** The window of a Sync request. */
export function syncWindow(lastSequence: number, maxLimit: number): SyncWindow {
  const size = pageSize(maxLimit);
  return {
    take: size + 1,
    after: BigInt(Math.max(0, Math.trunc(lastSequence))),
    page: (rows) => ({ dataList: rows.slice(0, size), completed: rows.length <= size }),
  };
}
