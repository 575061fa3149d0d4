import type { SqlDriverAdapterFactory } from "@prisma/client/runtime/client";
import { DbError, type DbErrorKind } from "../ports/db.js";

/**
 * Where the db port's errors are made (lib/ports/db.ts, {@link DbError}), for both Prisma
 * adapters (lib/adapters/postgres, lib/adapters/pglite): the one place outside them that knows
 * how Prisma reports a database failure.
 *
 * The translation sits in the driver adapter, under Prisma, not in a `$extends` query extension
 * above it: every statement Prisma sends (a model query, a raw query, each statement of an
 * interactive or batch transaction) and every COMMIT goes through the driver adapter, so one
 * wrapper sees them all, including a failed COMMIT, which a query extension never sees (it
 * rejects `$transaction` itself). And a query extension deep-copies every query's arguments
 * before it runs (each row of a `createMany`), which the send path would pay for on every
 * write. A driver error is a `DriverAdapterError` whose `cause` has a `kind` and PostgreSQL's
 * SQLSTATE (`originalCode`); Prisma turns it into a `PrismaClientKnownRequestError` (P2002,
 * P2000, P2003, P2034, or P2010 for a raw query), but an error of another class it passes on
 * unchanged, so a {@link DbError} thrown here is what the caller's promise rejects with.
 * Anything not one of the port's kinds is rethrown untouched and reaches the caller as
 * Prisma's error, as before.
 */

type SqlDriverAdapter = Awaited<ReturnType<SqlDriverAdapterFactory["connect"]>>;
type SqlTransaction = Awaited<ReturnType<SqlDriverAdapter["startTransaction"]>>;
type SqlQueryable = Pick<SqlDriverAdapter, "provider" | "adapterName" | "queryRaw" | "executeRaw">;

/** The port's kind of each SQLSTATE it names (PostgreSQL's codes: both adapters speak them). */
const KIND_OF_SQLSTATE: Readonly<Record<string, DbErrorKind>> = {
  "23505": "unique-violation",
  "22001": "value-too-long",
  "23503": "foreign-key-violation",
  "23001": "foreign-key-violation", // restrict_violation: a delete or update that a RESTRICT key refuses
  "40001": "write-conflict", // serialization_failure
  "40P01": "write-conflict", // deadlock_detected
};

/** The same kinds by the driver adapter's own name for them, when it gave no SQLSTATE. */
const KIND_OF_DRIVER_KIND: Readonly<Record<string, DbErrorKind>> = {
  UniqueConstraintViolation: "unique-violation",
  LengthMismatch: "value-too-long",
  ForeignKeyConstraintViolation: "foreign-key-violation",
  RestrictViolation: "foreign-key-violation",
  TransactionWriteConflict: "write-conflict",
};

/** What a driver adapter error carries (`@prisma/driver-adapter-utils`' `DriverAdapterError`). */
interface DriverErrorCause {
  kind?: unknown;
  originalCode?: unknown;
  code?: unknown;
  table?: unknown;
  column?: unknown;
  constraint?: { index?: unknown; fields?: unknown };
}

/**
 * The port's error for a driver adapter error of one of its kinds; anything else is returned
 * as it is. Exported for its unit test; the adapters use {@link translatingDriverAdapter}.
 */
export function toDbError(err: unknown): unknown {
  if (!(err instanceof Error) || err.name !== "DriverAdapterError") return err;
  const cause = err.cause as DriverErrorCause | undefined;
  if (typeof cause !== "object" || cause === null) return err;
  const sqlState =
    typeof cause.originalCode === "string"
      ? cause.originalCode
      : typeof cause.code === "string"
        ? cause.code
        : undefined;
  const kind =
    (sqlState === undefined ? undefined : KIND_OF_SQLSTATE[sqlState]) ??
    (typeof cause.kind === "string" ? KIND_OF_DRIVER_KIND[cause.kind] : undefined);
  if (kind === undefined) return err;
  return new DbError(kind, { where: whereOf(cause), sqlState, cause: err });
}

/**
 * The table, constraint or column the driver named: schema names only. The driver's message is
 * left out on purpose (it stays in `cause`): PostgreSQL's texts are value-free for these codes
 * today, but a message is not a place to bet on that.
 */
function whereOf(cause: DriverErrorCause): string | undefined {
  const names: string[] = [];
  if (typeof cause.table === "string") names.push(cause.table);
  const c = cause.constraint;
  if (typeof c?.index === "string") names.push(c.index);
  else if (Array.isArray(c?.fields)) names.push(c.fields.filter((f) => typeof f === "string").join(", "));
  else if (typeof cause.column === "string") names.push(cause.column);
  return names.length === 0 ? undefined : names.join(": ");
}

function rethrown(err: unknown): never {
  throw toDbError(err);
}

/**
 * `factory`'s driver adapter with the port's errors: every statement, transaction start,
 * COMMIT and ROLLBACK that fails with one of the port's kinds rejects with a {@link DbError}.
 * Costs one `catch` per statement, nothing per row.
 */
export function translatingDriverAdapter(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => adapter(await factory.connect().catch(rethrown)),
  };
}

function queryable(inner: SqlQueryable): SqlQueryable {
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (query) => inner.queryRaw(query).catch(rethrown),
    executeRaw: (query) => inner.executeRaw(query).catch(rethrown),
  };
}

function adapter(inner: SqlDriverAdapter): SqlDriverAdapter {
  const getConnectionInfo = inner.getConnectionInfo?.bind(inner);
  return {
    ...queryable(inner),
    executeScript: (script) => inner.executeScript(script).catch(rethrown),
    startTransaction: async (isolationLevel) =>
      transaction(await inner.startTransaction(isolationLevel).catch(rethrown)),
    ...(getConnectionInfo === undefined ? {} : { getConnectionInfo }),
    dispose: () => inner.dispose(),
  };
}

function transaction(inner: SqlTransaction): SqlTransaction {
  const optional = <K extends "createSavepoint" | "rollbackToSavepoint" | "releaseSavepoint">(name: K) => {
    const method = inner[name]?.bind(inner);
    return method === undefined ? {} : { [name]: (savepoint: string) => method(savepoint).catch(rethrown) };
  };
  return {
    ...queryable(inner),
    options: inner.options,
    commit: () => inner.commit().catch(rethrown),
    rollback: () => inner.rollback().catch(rethrown),
    ...optional("createSavepoint"),
    ...optional("rollbackToSavepoint"),
    ...optional("releaseSavepoint"),
  };
}
