import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { edgesOf } from "./imports.js";
import { classify, classifyTests, NOT_UNIT, SERVER_MODULES } from "./unit-tier.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("the unit tier's classifier", () => {
  it("puts a test out when any chain of its imports reaches a server module", () => {
    const edges = [
      ...edgesOf(ROOT, "lib/x/a.test.ts", 'import { h } from "./helper.js";'),
      ...edgesOf(ROOT, "lib/x/helper.ts", 'import { testRedisUrl } from "../testing/redis.js";'),
      ...edgesOf(ROOT, "lib/x/b.test.ts", 'import { MemoryKvStore } from "../adapters/memory/kv-store.js";'),
      ...edgesOf(ROOT, "lib/x/c.test.ts", 'const m = await import("../../test/support/cluster.js");'),
    ];
    expect(classify(["lib/x/a.test.ts", "lib/x/b.test.ts", "lib/x/c.test.ts"], edges)).toEqual([
      { file: "lib/x/a.test.ts", needs: "lib/testing/redis.ts" },
      { file: "lib/x/b.test.ts", needs: undefined },
      { file: "lib/x/c.test.ts", needs: "test/support/cluster.ts" },
    ]);
  });

  it("survives an import cycle", () => {
    const edges = [
      ...edgesOf(ROOT, "lib/x/a.test.ts", 'import { b } from "./b.js";'),
      ...edgesOf(ROOT, "lib/x/b.ts", 'import { a } from "./a.test.js";'),
    ];
    expect(classify(["lib/x/a.test.ts"], edges)).toEqual([{ file: "lib/x/a.test.ts", needs: undefined }]);
  });

  it("names only files that exist (the lists cannot rot)", () => {
    for (const file of [...SERVER_MODULES, ...NOT_UNIT.keys()])
      expect(existsSync(join(ROOT, file)), file).toBe(true);
  });
});

describe("the tree's tiers", () => {
  const verdicts = new Map(classifyTests(ROOT).map((v) => [v.file, v.needs]));

  it("keeps tests of the real adapters and of the domain on PostgreSQL out", () => {
    expect(verdicts.get("lib/adapters/redis/kv-store.test.ts")).toBe("lib/testing/redis.ts");
    expect(verdicts.get("lib/adapters/rabbitmq/bus.test.ts")).toBe("lib/testing/rabbitmq.ts");
    expect(verdicts.get("services/domain/messaging/p2p-send.test.ts")).toBeDefined();
    expect(verdicts.get("lib/adapters/pglite/database.test.ts")).toBe(
      NOT_UNIT.get("lib/adapters/pglite/database.test.ts"),
    );
  });

  it("takes the memory adapters, the codec, the SDK and the contracts in", () => {
    for (const file of [
      "lib/adapters/memory/kv-store.test.ts",
      "lib/adapters/memory/bus.test.ts",
      "lib/wire/client-frame.test.ts",
      "sdk/client.test.ts",
      "test/contracts/command-codes.test.ts",
      "test/architecture/walls.test.ts",
    ]) {
      expect(verdicts.has(file), file).toBe(true);
      expect(verdicts.get(file), file).toBeUndefined();
    }
  });

  it("never looks at the cross-process tests of test/", () => {
    expect(
      [...verdicts.keys()].filter((f) => f.startsWith("test/messaging/") || f.startsWith("test/cluster/")),
    ).toEqual([]);
  });
});
