import type { SqlDriverAdapterFactory } from "@prisma/client/runtime/client";
import { describe, expect, it } from "vitest";
import { DbError, isDbError } from "../ports/db.js";
import { toDbError, translatingDriverAdapter } from "./prisma-errors.js";

/**
 * The translation's unit test: the shapes each driver adapter reports, including those the db
 * contract (lib/ports/db.contract.ts) cannot provoke on a real database (a deadlock as PGlite's
 * adapter reports it, a restrict violation).
 */

/** A driver adapter error as `@prisma/driver-adapter-utils` makes it. */
function driverError(cause: Record<string, unknown>): Error {
  const err = new Error(String(cause.kind), { cause });
  err.name = "DriverAdapterError";
  return err;
}

describe("toDbError", () => {
  it("names each of the port's kinds by SQLSTATE, whichever adapter kind carries it", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ kind: "UniqueConstraintViolation", originalCode: "23505" }, "unique-violation"],
      [{ kind: "LengthMismatch", originalCode: "22001", column: "user_id" }, "value-too-long"],
      [{ kind: "ForeignKeyConstraintViolation", originalCode: "23503" }, "foreign-key-violation"],
      // pglite-prisma-adapter has no kind for these two: a generic "postgres" error with the code
      [{ kind: "postgres", originalCode: "23001", code: "23001" }, "foreign-key-violation"],
      [{ kind: "postgres", originalCode: "40P01", code: "40P01" }, "write-conflict"],
      [{ kind: "TransactionWriteConflict", originalCode: "40001" }, "write-conflict"],
      [{ kind: "TransactionWriteConflict", originalCode: "40P01" }, "write-conflict"],
      // no SQLSTATE: the adapter's kind decides
      [{ kind: "UniqueConstraintViolation" }, "unique-violation"],
      [{ kind: "RestrictViolation" }, "foreign-key-violation"],
    ];
    for (const [cause, kind] of cases) {
      const err = driverError(cause);
      const translated = toDbError(err);
      expect(isDbError(translated) ? translated.kind : translated, JSON.stringify(cause)).toBe(kind);
      expect((translated as DbError).cause).toBe(err);
      expect((translated as DbError).sqlState).toBe(cause.originalCode);
    }
  });

  it("says where with schema names only, never the driver's message", () => {
    const err = toDbError(
      driverError({
        kind: "UniqueConstraintViolation",
        originalCode: "23505",
        originalMessage: 'duplicate key value violates unique constraint "k" (secret-value)',
        table: "im_group_member",
        constraint: { fields: ["app_id", "group_id", "member_id"] },
      }),
    ) as DbError;
    expect(err.message).toBe("unique constraint violated (im_group_member: app_id, group_id, member_id)");
    expect((toDbError(driverError({ kind: "LengthMismatch", originalCode: "22001" })) as Error).message).toBe(
      "value too long for its column",
    );
  });

  it("passes everything else on as it is", () => {
    const others = [
      driverError({ kind: "postgres", originalCode: "22021", code: "22021" }),
      driverError({ kind: "NullConstraintViolation", originalCode: "23502" }),
      driverError({ kind: "DatabaseNotReachable" }),
      new Error("connection terminated"),
      Object.assign(new Error("P2002"), { code: "23505" }), // not a driver adapter error
      "a string",
      undefined,
    ];
    for (const other of others) expect(toDbError(other)).toBe(other);
  });
});

describe("translatingDriverAdapter", () => {
  /** A fake driver whose every call rejects with `failure` (or resolves when it is undefined). */
  function fakeFactory(failure: unknown, savepoints: boolean): SqlDriverAdapterFactory {
    const settle = <T>(value: T) =>
      failure === undefined ? Promise.resolve(value) : Promise.reject(failure);
    const result = { columnNames: [], columnTypes: [], rows: [] };
    const queryable = {
      provider: "postgres" as const,
      adapterName: "fake",
      queryRaw: () => settle(result),
      executeRaw: () => settle(0),
    };
    const transaction = {
      ...queryable,
      options: { usePhantomQuery: false },
      commit: () => settle(undefined),
      rollback: () => settle(undefined),
      ...(savepoints ? { createSavepoint: () => settle(undefined) } : {}),
    };
    return {
      provider: "postgres",
      adapterName: "fake",
      connect: async () => ({
        ...queryable,
        executeScript: () => settle(undefined),
        startTransaction: async () => transaction,
        getConnectionInfo: () => ({ supportsRelationJoins: true }),
        dispose: async () => {},
      }),
    };
  }
  const query = { sql: "SELECT 1", args: [], argTypes: [] };

  it("rejects statements, commits and savepoints of the port's kinds with a DbError", async () => {
    const conflict = driverError({ kind: "TransactionWriteConflict", originalCode: "40001" });
    const adapter = await translatingDriverAdapter(fakeFactory(conflict, true)).connect();
    expect(adapter.adapterName).toBe("fake");
    expect(adapter.getConnectionInfo?.()).toEqual({ supportsRelationJoins: true });
    await expect(adapter.queryRaw(query)).rejects.toBeInstanceOf(DbError);
    await expect(adapter.executeRaw(query)).rejects.toMatchObject({ kind: "write-conflict" });
    const tx = await adapter.startTransaction();
    expect(tx.options).toEqual({ usePhantomQuery: false });
    await expect(tx.queryRaw(query)).rejects.toMatchObject({ kind: "write-conflict" });
    await expect(tx.commit()).rejects.toMatchObject({ kind: "write-conflict", cause: conflict });
    await expect(tx.rollback()).rejects.toBeInstanceOf(DbError);
    await expect(tx.createSavepoint?.("s1")).rejects.toBeInstanceOf(DbError);
    expect(tx.rollbackToSavepoint).toBeUndefined(); // absent in the driver, absent here
  });

  it("passes other failures and results through untouched", async () => {
    const other = new Error("connection terminated");
    const failing = await translatingDriverAdapter(fakeFactory(other, false)).connect();
    await expect(failing.queryRaw(query)).rejects.toBe(other);
    const tx = await failing.startTransaction();
    expect(tx.createSavepoint).toBeUndefined();
    await expect(tx.commit()).rejects.toBe(other);
    const working = await translatingDriverAdapter(fakeFactory(undefined, false)).connect();
    expect(await working.executeRaw(query)).toBe(0);
    expect(await working.queryRaw(query)).toEqual({ columnNames: [], columnTypes: [], rows: [] });
  });
});
