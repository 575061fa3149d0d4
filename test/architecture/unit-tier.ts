import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ImportEdge, importEdges, sourceFiles } from "./imports.js";

/**
 * The modules through which a test reaches a server: the shared PostgreSQL, Redis, RabbitMQ and
 * ZooKeeper (lib/testing), a Redis of its own (a private server or a cluster it starts) or a
 * whole deployment (test/support/cluster.ts and the cluster helpers of test/). A test that
 * imports one of them, directly or through any chain of relative imports, is not a unit test.
 */
export const SERVER_MODULES: readonly string[] = [
  "lib/testing/postgres.ts",
  "lib/testing/migrated-database.ts",
  "lib/testing/redis.ts",
  "lib/testing/redis-cluster.ts",
  "lib/testing/rabbitmq.ts",
  "lib/testing/zookeeper.ts",
  "test/support/private-redis.ts",
  "test/support/cluster.ts",
];

/**
 * Where unit tests live: beside the code. Everything under `test/` is cross-process or starts the
 * command (`whaleshark start`, the build, a browser), so the full run keeps it, except the folders
 * below, whose tests are pure by construction: the wire codec's golden frames and fuzzing, the
 * contracts' tables, and the walls.
 */
export const UNIT_ROOTS: readonly string[] = [
  "app",
  "lib",
  "gateway",
  "services",
  "sdk",
  "bench",
  "prisma",
  "scripts",
];
export const PURE_TEST_FOLDERS: readonly string[] = ["test/wire", "test/contracts", "test/architecture"];

/**
 * Tests beside the code that need no shared server but still do what the unit tier must not: they
 * spawn the `whaleshark` command or a server binary, or bind the original's fixed ports. Each is
 * named with the reason; the full run keeps them.
 */
export const NOT_UNIT: ReadonlyMap<string, string> = new Map([
  [
    "lib/adapters/journal/journaled-bus.crash.test.ts",
    "spawns a publisher under tsx and SIGKILLs it mid-write",
  ],
  // PGlite is the embedded profile's database and needs no server, but opening it (PostgreSQL in
  // WASM) takes seconds each time, tens of seconds on a loaded machine: past the unit tier's budget.
  ["lib/adapters/pglite/database.test.ts", "runs the db contract suite on PGlite (tens of seconds)"],
  ["lib/adapters/pglite/open.test.ts", "opens PGlite twice (tens of seconds on a loaded machine)"],
]);

/** Every module `file` reaches through relative imports, `file` included. */
function reach(file: string, byFile: ReadonlyMap<string, readonly ImportEdge[]>): Set<string> {
  const seen = new Set<string>();
  const queue = [file];
  while (queue.length > 0) {
    const next = queue.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const edge of byFile.get(next) ?? []) {
      if (edge.target !== undefined && !seen.has(edge.target)) queue.push(edge.target);
    }
  }
  return seen;
}

/** A test file and what puts it outside the unit tier, if anything. */
export interface TierVerdict {
  file: string;
  /** Undefined for a unit test; else the server module it reaches or the NOT_UNIT reason. */
  needs: string | undefined;
}

/**
 * Sorts every `*.test.ts` of the unit roots and the pure test folders: a test is a unit test when
 * no chain of its imports reaches a {@link SERVER_MODULES} entry and it is not in
 * {@link NOT_UNIT}. Decided from the source alone, so a new test lands in its tier by itself.
 */
export function classifyTests(root: string): TierVerdict[] {
  const folders = [...UNIT_ROOTS, ...PURE_TEST_FOLDERS].filter((f) => existsSync(join(root, f)));
  // The graph spans the whole tree: a unit test may import test/ helpers, and those theirs.
  const edges = importEdges(
    root,
    [...UNIT_ROOTS, "test"].filter((f) => existsSync(join(root, f))),
  );
  const tests = sourceFiles(root, folders).filter((file) => file.endsWith(".test.ts"));
  return classify(tests, edges);
}

/** {@link classifyTests} over a given list of test files and import graph. */
export function classify(tests: readonly string[], edges: readonly ImportEdge[]): TierVerdict[] {
  const byFile = new Map<string, ImportEdge[]>();
  for (const edge of edges) {
    const list = byFile.get(edge.from);
    if (list === undefined) byFile.set(edge.from, [edge]);
    else list.push(edge);
  }
  return tests.map((file) => {
    const reason = NOT_UNIT.get(file);
    if (reason !== undefined) return { file, needs: reason };
    const reached = reach(file, byFile);
    return { file, needs: SERVER_MODULES.find((m) => reached.has(m)) };
  });
}

/** The unit tier: the test files {@link classifyTests} finds needing nothing. */
export function unitTestFiles(root: string): string[] {
  return classifyTests(root)
    .filter((v) => v.needs === undefined)
    .map((v) => v.file);
}
