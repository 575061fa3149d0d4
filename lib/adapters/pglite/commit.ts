import type { SqlDriverAdapterFactory } from "@prisma/client/runtime/client";

type SqlDriverAdapter = Awaited<ReturnType<SqlDriverAdapterFactory["connect"]>>;
type SqlTransaction = Awaited<ReturnType<SqlDriverAdapter["startTransaction"]>>;

const COMMIT = { sql: "COMMIT", args: [], argTypes: [] };

/**
 * `factory` (pglite-prisma-adapter's) with a COMMIT that rejects when PostgreSQL refuses it.
 *
 * The adapter runs each Prisma transaction inside PGlite's `transaction()`, which holds PGlite's
 * one-transaction-at-a-time lock and issues BEGIN and COMMIT itself; its `commit()` lets that
 * callback return and awaits the outcome, but the adapter has already dropped that promise's
 * rejection, so a refused COMMIT resolves and `$transaction` reports rows that were never
 * written. The store acks its bus jobs once their batch has committed (docs/architecture.md §4,
 * "No loss"), so in the embedded profile that would lose messages their senders saw ACKed.
 *
 * Here `commit()` first sends COMMIT itself, through the transaction, so inside PGlite's lock and
 * on its one connection; a refusal rejects as the adapter's error for it (a deferred unique
 * constraint is a unique violation, which ../prisma-errors.ts makes the port's DbError). Whether
 * it committed or failed, PostgreSQL has then left the transaction block (a COMMIT that fails
 * aborts the transaction). PGlite's `transaction()` is then ended the way Prisma ends a
 * transaction whose explicit COMMIT failed: `rollback()` after a failure, `commit()` after
 * success; either way PGlite's own closing statement finds no transaction in progress, a
 * warning PostgreSQL answers without an error, and PGlite releases its lock, so the next
 * transaction starts on a clean connection. Costs one statement per transaction.
 */
export function reportingCommitFailures(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => adapter(await factory.connect()),
  };
}

function adapter(inner: SqlDriverAdapter): SqlDriverAdapter {
  const getConnectionInfo = inner.getConnectionInfo?.bind(inner);
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (query) => inner.queryRaw(query),
    executeRaw: (query) => inner.executeRaw(query),
    executeScript: (script) => inner.executeScript(script),
    startTransaction: async (isolationLevel) => transaction(await inner.startTransaction(isolationLevel)),
    ...(getConnectionInfo === undefined ? {} : { getConnectionInfo }),
    dispose: () => inner.dispose(),
  };
}

function transaction(inner: SqlTransaction): SqlTransaction {
  const optional = <K extends "createSavepoint" | "rollbackToSavepoint" | "releaseSavepoint">(name: K) => {
    const method = inner[name]?.bind(inner);
    return method === undefined ? {} : { [name]: method };
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (query) => inner.queryRaw(query),
    executeRaw: (query) => inner.executeRaw(query),
    options: inner.options,
    commit: async () => {
      try {
        await inner.executeRaw(COMMIT);
      } catch (err) {
        const fail = () => Promise.reject(err); // the COMMIT's error, whatever rollback() does
        return inner.rollback().then(fail, fail);
      }
      await inner.commit();
    },
    rollback: () => inner.rollback(),
    ...optional("createSavepoint"),
    ...optional("rollbackToSavepoint"),
    ...optional("releaseSavepoint"),
  };
}
