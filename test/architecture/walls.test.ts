import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { edgesOf, type ImportEdge, importEdges, SCANNED, specifiersOf } from "./imports.js";
import { type Seam, staleSeams, violations, WALLS } from "./walls.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The seams still open, one entry per file and import. Each names why it is there and what removes
 * it; the list may only shrink (a seam no import uses any more fails the test until it is deleted).
 * docs/architecture.md ("The walls") lists the same seams.
 */
const SEAMS: readonly Seam[] = [];

/** The edges of a one-file fake tree: `source` written at `file`. */
function fake(file: string, source: string): ImportEdge[] {
  return edgesOf(ROOT, file, source);
}

describe("import parsing", () => {
  it("finds static imports, re-exports, side-effect and dynamic imports", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      "import {",
      "  c,",
      "  type D,",
      '} from "./multi-line.js";',
      'import * as e from "e-package";',
      'export { f } from "./f.js";',
      'export * from "./g.js";',
      'import "./side-effect.js";',
      'const h = await import("./dynamic.js");',
      "export async function load() {",
      '  return import("node:fs");',
      "}",
    ].join("\n");
    expect(specifiersOf(source)).toEqual([
      "./a.js",
      "../b.js",
      "./multi-line.js",
      "e-package",
      "./f.js",
      "./g.js",
      "./side-effect.js",
      "./dynamic.js",
      "node:fs",
    ]);
  });

  it("ignores imports quoted in comments and strings that only look like them", () => {
    const source = [
      "/**",
      ' * import { x } from "../gateway/start.js";',
      ' * Lazily: import("../services/domain/start.js").',
      " */",
      '// import { y } from "../services/store/start.js";',
      'export const note = "see from \\"../gateway\\"";',
      'const z = 1; // import("../app/cli.js")',
    ].join("\n");
    expect(specifiersOf(source)).toEqual([]);
  });

  it("resolves a relative specifier to the repository path of the .ts file", () => {
    const [edge] = fake("sdk/outbox.ts", 'import { x } from "../lib/wire/index.js";');
    expect(edge).toEqual({
      from: "sdk/outbox.ts",
      specifier: "../lib/wire/index.js",
      target: "lib/wire/index.ts",
    });
    const [bare] = fake("sdk/outbox.ts", 'import { x } from "ws";');
    expect(bare?.target).toBeUndefined();
  });
});

describe("the walls catch a broken wall", () => {
  // One fake import per wall that breaks it: the checker must name that wall.
  const broken: [wall: string, file: string, source: string][] = [
    ["gateway-to-services", "gateway/commands/x.ts", 'import { a } from "../../services/domain/start.js";'],
    ["services-to-gateway", "services/domain/x.ts", 'export { a } from "../../gateway/start.js";'],
    ["domain-to-store", "services/domain/x.ts", 'const m = await import("../store/start.js");'],
    ["store-to-domain", "services/store/x.ts", 'import type { A } from "../domain/services.js";'],
    ["lib-to-process", "lib/push/x.ts", 'import { a } from "../../gateway/delivery/consumer.js";'],
    ["lib-to-process", "lib/wire/x.ts", 'import { a } from "../../sdk/index.js";'],
    ["lib-tests-to-process", "lib/wire/x.test.ts", 'import { a } from "../../test/support/cluster.js";'],
    ["ports-to-adapters", "lib/ports/kv.ts", 'import { RedisKvStore } from "../adapters/redis/kv-store.js";'],
    ["ports-to-adapters", "lib/ports/bus.ts", 'import { A } from "../../gen/ts/whaleshark/v1/delivery.js";'],
    [
      "adapters-outside-roots",
      "gateway/start.ts",
      'import { MemoryBus } from "../lib/adapters/memory/bus.js";',
    ],
    ["adapters-outside-roots", "services/store/start.ts", 'import { a } from "../../lib/testing/redis.js";'],
    ["sdk-to-server", "sdk/client.ts", 'import { ErrorCatalogue } from "../lib/errors/catalogue.js";'],
    ["sdk-to-server", "sdk/client.ts", 'import { a } from "../test/wire/fake-gateway.js";'],
    ["sdk-tests-to-server", "sdk/client.test.ts", 'import { a } from "../gateway/start.js";'],
    ["console-to-anything", "console/main.ts", 'import { a } from "../lib/wire/index.js";'],
    ["console-to-anything", "console/main.ts", 'import { a } from "../gen/ts/whaleshark/v1/message.js";'],
    ["console-to-anything", "console/main.ts", 'import { readFileSync } from "node:fs";'],
  ];
  it.each(broken)("%s: %s", (wall, file, source) => {
    const found = violations(fake(file, source), WALLS);
    expect(found.map((v) => v.wall)).toContain(wall);
  });

  it("names every wall at least once above", () => {
    expect(new Set(broken.map(([wall]) => wall))).toEqual(new Set(WALLS.map((w) => w.name)));
  });

  it("lets the allowed imports through", () => {
    const allowed: [file: string, source: string][] = [
      ["sdk/frames.ts", 'import { a } from "../lib/wire/index.js";'],
      ["sdk/outbox.ts", 'import { ErrorCode } from "../gen/ts/whaleshark/v1/error_code.js";'],
      ["sdk/client.test.ts", 'import { a } from "../test/wire/fake-gateway.js";'],
      ["console/main.ts", 'import { a } from "../sdk/index.js";'],
      ["console/main.ts", 'import { a } from "./dom.js";'],
      ["lib/wire/push.test.ts", 'import { a } from "../../test/wire/chunkings.js";'],
      ["lib/ports/kv.ts", 'import type { A } from "./bus.js";'],
      ["gateway/start.ts", 'import { a } from "../lib/push/pusher.js";'],
      ["gateway/start.test.ts", 'import { a } from "../lib/testing/redis.js";'],
      ["app/deps.ts", 'import { RedisKvStore } from "../lib/adapters/redis/kv-store.js";'],
      ["test/cluster/x.test.ts", 'import { a } from "../../services/domain/start.js";'],
    ];
    for (const [file, source] of allowed) expect(violations(fake(file, source), WALLS), file).toEqual([]);
  });

  it("does not excuse a seam's file for another import across the same wall", () => {
    const seams: Seam[] = [
      {
        wall: "adapters-outside-roots",
        from: "services/domain/x.ts",
        target: "lib/adapters/memory/bus.ts",
        why: "an example seam",
      },
    ];
    const edges = fake(
      "services/domain/x.ts",
      [
        'import { a } from "../../lib/adapters/memory/bus.js";',
        'import { b } from "../../lib/adapters/redis/kv-store.js";',
      ].join("\n"),
    );
    expect(violations(edges, WALLS, seams).map((v) => v.target)).toEqual(["lib/adapters/redis/kv-store.ts"]);
  });
});

describe("the tree", () => {
  const edges = importEdges(ROOT, SCANNED);

  it("is scanned whole (the checker cannot pass by seeing nothing)", () => {
    expect(edges.length).toBeGreaterThan(2000);
    expect(edges).toContainEqual({
      from: "sdk/frames.ts",
      specifier: "../lib/wire/index.js",
      target: "lib/wire/index.ts",
    });
  });

  it("breaks no wall beyond the listed seams", () => {
    const found = violations(edges, WALLS, SEAMS).map(
      (v) => `${v.wall}: ${v.from} imports ${v.specifier} (${WALLS.find((w) => w.name === v.wall)?.why})`,
    );
    expect(found).toEqual([]);
  });

  it("lists no seam that is already closed (the allow-list only shrinks)", () => {
    expect(staleSeams(edges, WALLS, SEAMS)).toEqual([]);
  });
});
