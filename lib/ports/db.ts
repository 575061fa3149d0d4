import type { Prisma, PrismaClient } from "../../gen/prisma/client.js";

/**
 * The db port (docs/architecture.md §3): Prisma's query API on the schema of
 * prisma/schema.prisma, narrowed to what the code may use, with database errors of our own.
 *
 * Why Prisma's query API and not an interface of our own: the schema is the contract (one
 * schema, one set of migrations, the drift check in CI), and each aggregate's store owns its
 * queries (services/domain/<aggregate>/<aggregate>-store.ts, services/store/): a hand-written
 * interface would repeat every one of those queries a second time without adding a guarantee.
 * What the port does own is the surface: {@link Database} keeps the model delegates,
 * `$transaction` and the tagged-template `$queryRaw` / `$executeRaw`, and its errors:
 * {@link DbError}, never Prisma's, for the failures callers act on.
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
 * - A unique or primary-key violation, a value longer than its column, a
 *   missing foreign-key target and a write conflict (serialization failure,
 *   deadlock) reject with a {@link DbError} of that kind, from a model query, a
 *   raw query, inside a transaction or from its COMMIT alike; every other
 *   failure rejects as the client reports it. A COMMIT that fails always
 *   rejects, on PGlite too (pglite-prisma-adapter alone would resolve it:
 *   lib/adapters/pglite/commit.ts sends the COMMIT itself; checked by the
 *   contract suite). Callers map a kind to their
 *   catalogue error where it means something (e.g. "already exists"), never to a
 *   silent success. `createMany({ skipDuplicates: true })` is the idempotent
 *   insert (ON CONFLICT DO NOTHING).
 * - BIGINT columns read as `bigint`; times are epoch milliseconds (schema
 *   comments).
 * - When the server is unreachable a call rejects (it never hangs forever nor
 *   crashes the process); the next call reconnects. Callers that must not lose
 *   work keep it and retry (the store's batch writer does).
 * Deliberately absent: schema changes at run time (migrations only; the one
 * exception is the store's upkeep of the message tables' monthly partitions,
 * services/store/partitions), raw connection access, SQL built from strings
 * (`$queryRawUnsafe`, `$executeRawUnsafe`), the client's lifecycle, events and
 * extensions (`$connect`, `$disconnect`, `$on`, `$extends`: the composition
 * root's, through {@link DatabaseHandle}), and any engine-specific SQL outside
 * the adapters.
 */
export interface Database extends Queries {
  /** A batch: the queries run in order in one transaction; all commit or none does. */
  $transaction<P extends Prisma.PrismaPromise<unknown>[]>(
    queries: [...P],
    options?: { isolationLevel?: Prisma.TransactionIsolationLevel },
  ): Promise<{ [K in keyof P]: Awaited<P[K]> }>;
  /** An interactive transaction: commits when `fn` resolves, rolls back when it throws. */
  $transaction<R>(
    fn: (tx: DatabaseTransaction) => Promise<R>,
    options?: { maxWait?: number; timeout?: number; isolationLevel?: Prisma.TransactionIsolationLevel },
  ): Promise<R>;
}

/** Prisma's model delegates (`db.group`, `db.messageBody`, …): the client's keys without a `$`. */
type ModelName = Exclude<keyof Prisma.TransactionClient, `$${string}` | symbol>;

/** The queries the port offers: the model delegates and the tagged-template raw queries. */
type Queries = Pick<Prisma.TransactionClient, ModelName | "$queryRaw" | "$executeRaw">;

/** What an interactive transaction's callback gets: the same queries, inside the transaction. */
export type DatabaseTransaction = Queries;

/**
 * An open database and how to release it: the composition root's (app/deps.ts) and tests'. `db`
 * is the whole client (lifecycle, `$on` query events for EXPLAIN tests); roles get it as a
 * {@link Database} (lib/role/role.ts).
 */
export interface DatabaseHandle {
  db: PrismaClient;
  /** Disconnects the client and closes the underlying pool or PGlite instance. */
  close(): Promise<void>;
}

/** Opens a database (the adapters' `open…Database` functions have this shape once configured). */
export type OpenDatabase = () => Promise<DatabaseHandle>;

/** The failures the port names (see {@link DbError}). */
export type DbErrorKind =
  /** A unique or primary-key constraint refused a row (SQLSTATE 23505). */
  | "unique-violation"
  /** A value is longer than its column allows (22001). */
  | "value-too-long"
  /** A row points at a missing row, or a delete would orphan one (23503, 23001). */
  | "foreign-key-violation"
  /** The transaction lost to a concurrent one: serialization failure or deadlock (40001, 40P01); retry it whole. */
  | "write-conflict";

const DESCRIPTION: Record<DbErrorKind, string> = {
  "unique-violation": "unique constraint violated",
  "value-too-long": "value too long for its column",
  "foreign-key-violation": "foreign key constraint violated",
  "write-conflict": "write conflict with a concurrent transaction",
};

/**
 * A database failure of a kind callers act on, whichever adapter and query raised it. The
 * message names the kind and, when the driver reported it, where (a table, constraint or column
 * name): never a value of the row, which may be a message body or a secret. The driver's error
 * is the `cause` (for logs).
 */
export class DbError extends Error {
  override readonly name = "DbError";
  readonly kind: DbErrorKind;
  /** PostgreSQL's SQLSTATE (e.g. `23505`) when the driver reported one, for logs. */
  readonly sqlState: string | undefined;

  constructor(kind: DbErrorKind, options: { where?: string; sqlState?: string; cause?: unknown } = {}) {
    super(
      options.where === undefined ? DESCRIPTION[kind] : `${DESCRIPTION[kind]} (${options.where})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.kind = kind;
    this.sqlState = options.sqlState;
  }
}

/** True when `err` is a {@link DbError}, of `kind` when given. */
export function isDbError(err: unknown, kind?: DbErrorKind): err is DbError {
  return err instanceof DbError && (kind === undefined || err.kind === kind);
}

/** True when `err` is a unique or primary-key violation. */
export function isUniqueViolation(err: unknown): boolean {
  return isDbError(err, "unique-violation");
}
