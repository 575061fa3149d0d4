import { Prisma, type PrismaClient } from "../../gen/prisma/client.js";

/**
 * The db port: the Prisma client generated from prisma/schema.prisma (docs/architecture.md §3).
 *
 * The database is PostgreSQL's dialect everywhere: PostgreSQL 15 through
 * `@prisma/adapter-pg` in the distributed profile, PGlite (PostgreSQL in WASM,
 * in this process) through `pglite-prisma-adapter` in the embedded one. Both
 * run the same migrations (prisma/migrations), so a query that works on one
 * works on the other; `db.contract.ts` checks that on both.
 *
 * Guarantees every adapter keeps:
 * - `$transaction(async (tx) => ...)` is atomic: when the callback throws,
 *   nothing it wrote remains (checked by the contract suite). A batch
 *   `$transaction([...])` is atomic too. PGlite has one connection, so its
 *   transactions run one after another; PostgreSQL's run concurrently under
 *   READ COMMITTED.
 * - A unique or primary-key violation rejects with Prisma's P2002
 *   (`Prisma.PrismaClientKnownRequestError`, see {@link isUniqueViolation});
 *   callers map it to their catalogue error where it means something (e.g.
 *   "already exists"), never to a silent success. `createMany({
 *   skipDuplicates: true })` is the idempotent insert (ON CONFLICT DO NOTHING).
 * - BIGINT columns read as `bigint`; times are epoch milliseconds (schema
 *   comments).
 * - When the server is unreachable a call rejects (it never hangs forever nor
 *   crashes the process); the next call reconnects. Callers that must not lose
 *   work keep it and retry (the store's batch writer does).
 * Deliberately absent: schema changes at run time (migrations only; the one
 * exception is the store's upkeep of the message tables' monthly partitions,
 * services/store/partitions), raw connection access, and any engine-specific
 * SQL outside the adapters.
 */
export type Database = PrismaClient;

/** An open database and how to release it. */
export interface DatabaseHandle {
  db: Database;
  /** Disconnects the client and closes the underlying pool or PGlite instance. */
  close(): Promise<void>;
}

/** Opens a database (the adapters' `open…Database` functions have this shape once configured). */
export type OpenDatabase = () => Promise<DatabaseHandle>;

/** True when `err` is a unique or primary-key violation (Prisma P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";
}
