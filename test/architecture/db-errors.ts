/**
 * Prisma's errors are the db port's adapters' business (issue 19 item 2, lib/ports/db.ts): the two
 * Prisma adapters and their shared translation (lib/adapters/prisma-errors.ts) turn the failures
 * callers act on into the port's DbError, and nothing else reads Prisma's error classes or codes.
 * A caller that tested `err.code === "P2002"` again would miss the same failure raised by the
 * commit, a raw query or the other adapter, which is what the translation settles in one place.
 */

/** Files that may read Prisma's errors: the Prisma adapters and the shared translation, with their tests. */
const ADAPTERS = /^lib\/adapters\/(?:postgres\/|pglite\/|prisma-errors(?:\.test)?\.ts$)/;

/**
 * Files outside the adapters that still read them, each with its reason. The list may only
 * shrink: an entry whose file no longer reads them fails the test until it is removed.
 */
export const KNOWN_READERS: ReadonlyMap<string, string> = new Map([
  [
    "services/store/consumer/batch-writer.test.ts",
    "builds the raw-query error of a NUL in text (SQLSTATE 22021, no port kind: it reaches the " +
      "store untranslated) to check the writer's one-line log of it",
  ],
  ["test/architecture/db-errors.test.ts", "the checker's own examples of what it catches"],
]);

/** Prisma's error classes (and the driver adapters' error they are made from) and its quoted codes. */
const PRISMA_ERROR = /\bPrismaClient\w*Error\b|\bDriverAdapterError\b|["'`]P[0-9]{4}\b/;

/** Whether `file` may read Prisma's errors. */
export function mayReadPrismaErrors(file: string): boolean {
  return ADAPTERS.test(file);
}

/** Whether `source` reads Prisma's error classes or codes in code (comments may name them). */
export function readsPrismaErrors(source: string): boolean {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  return PRISMA_ERROR.test(code);
}
