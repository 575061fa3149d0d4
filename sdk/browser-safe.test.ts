import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Every module reachable from `entry` through static imports, with the bare specifiers it uses. */
function importGraph(entry: string): { files: string[]; bare: Set<string> } {
  const files: string[] = [];
  const bare = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.includes(file)) continue;
    files.push(file);
    // Comments are dropped first: TSDoc may quote import lines.
    const source = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [, specifier] of source.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)) {
      if (specifier === undefined) continue;
      if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else bare.add(specifier);
    }
  }
  return { files, bare };
}

describe("sdk browser safety", () => {
  it("reaches no Node built-in and no Node-only package from sdk/index.ts", () => {
    const { files, bare } = importGraph(resolve(ROOT, "sdk/index.ts"));
    expect(files.some((f) => f.endsWith("lib/wire/index.ts"))).toBe(true);
    expect(files.some((f) => f.endsWith("sdk/transport/tcp.ts"))).toBe(false);
    // The generated payload code needs only the protobuf runtime's wire helpers.
    expect([...bare].sort()).toEqual(["@bufbuild/protobuf/wire"]);
  });
});
