import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KNOWN_READERS, mayReadPrismaErrors, readsPrismaErrors } from "./db-errors.js";
import { SCANNED, sourceFiles } from "./imports.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The files that read Prisma's error classes or codes. */
function readers(): string[] {
  return sourceFiles(ROOT, SCANNED).filter((f) => readsPrismaErrors(readFileSync(join(ROOT, f), "utf8")));
}

describe("Prisma's errors are read only in the db adapters (lib/ports/db.ts: DbError)", () => {
  it("no file outside lib/adapters/{postgres,pglite} and prisma-errors.ts reads them, and the known list is current", () => {
    const found = readers();
    expect(found.filter((f) => !mayReadPrismaErrors(f) && !KNOWN_READERS.has(f))).toEqual([]);
    expect([...KNOWN_READERS.keys()].filter((f) => !found.includes(f))).toEqual([]);
  });

  it("the translation does read them (the rule is not vacuous)", () => {
    expect(readers()).toContain("lib/adapters/prisma-errors.ts");
    expect(mayReadPrismaErrors("lib/adapters/prisma-errors.ts")).toBe(true);
    expect(mayReadPrismaErrors("lib/adapters/postgres/database.ts")).toBe(true);
    expect(mayReadPrismaErrors("lib/adapters/pglite/database.ts")).toBe(true);
    expect(mayReadPrismaErrors("lib/adapters/redis/kv-store.ts")).toBe(false);
    expect(mayReadPrismaErrors("lib/ports/db.ts")).toBe(false);
    expect(mayReadPrismaErrors("services/domain/core/tx.ts")).toBe(false);
  });

  it("catches each kind of read, and lets comments and the port's errors be", () => {
    expect(readsPrismaErrors("if (e instanceof Prisma.PrismaClientKnownRequestError) throw e;")).toBe(true);
    expect(readsPrismaErrors('return err.code === "P2002";')).toBe(true);
    expect(readsPrismaErrors("if (code === 'P2034') retry();")).toBe(true);
    expect(readsPrismaErrors("const c = `P1001`;")).toBe(true);
    expect(readsPrismaErrors("await expect(p).rejects.toMatchObject({ code: 'P2003' });")).toBe(true);
    expect(readsPrismaErrors("e instanceof PrismaClientUnknownRequestError")).toBe(true);
    expect(readsPrismaErrors('if (e.name === "DriverAdapterError") {}')).toBe(true);
    expect(readsPrismaErrors('return isDbError(err, "unique-violation");')).toBe(false);
    expect(readsPrismaErrors("// Prisma reports P2002 as a PrismaClientKnownRequestError")).toBe(false);
    expect(readsPrismaErrors('/* P2034: "P2034" */ const a = 1;')).toBe(false);
    expect(readsPrismaErrors('const url = "http://x"; // "P2002"')).toBe(false);
  });
});
