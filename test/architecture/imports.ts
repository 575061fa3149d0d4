import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** One import of one source file. */
export interface ImportEdge {
  /** The importing file, relative to the repository root with `/` separators. */
  from: string;
  /** The specifier as written (`../lib/wire/index.js`, `ws`, `node:net`). */
  specifier: string;
  /**
   * Where it points: a repository-relative path (`.js` read as the `.ts` beside it) for a relative
   * specifier, or undefined for a package or a Node built-in.
   */
  target: string | undefined;
}

// Static `import … from "x"`, `import type … from "x"`, `export … from "x"`: anchored at the start
// of a line (so TSDoc lines, which start with `*`, never match) and with no `;`, quote, `=` or
// parenthesis between the keyword and `from`, so `export const a = …` cannot run on into a later
// statement's string.
const STATIC_FROM = /^[ \t]*(?:import|export)\b[^;"'`=()]*?\bfrom\s*["']([^"']+)["']/gm;
// A side-effect import: `import "x";`.
const SIDE_EFFECT = /^[ \t]*import\s*["']([^"']+)["']/gm;
// `import("x")` anywhere in code; only literal specifiers can be checked (a computed one is not
// an edge the checker can see, and the project writes none).
const DYNAMIC = /\bimport\s*\(\s*["'`]([^"'`$]+)["'`]\s*\)/g;

/**
 * Drops comments line by line: whole lines that are comment lines (`//`, `/*`, ` *`) and a
 * trailing `// …` after code. Good enough for import lines, which hold no `//` inside strings in
 * this codebase; block comments always sit on their own lines here (biome formats them so).
 */
function stripComments(source: string): string {
  return source
    .split("\n")
    .filter((line) => !/^\s*(?:\/\/|\/\*|\*)/.test(line))
    .map((line) => line.replace(/\s\/\/\s.*$/, ""))
    .join("\n");
}

/** The specifiers `source` imports or re-exports, statically or through a literal `import("…")`. */
export function specifiersOf(source: string): string[] {
  const code = stripComments(source);
  const found: string[] = [];
  for (const pattern of [STATIC_FROM, SIDE_EFFECT, DYNAMIC]) {
    for (const match of code.matchAll(pattern)) {
      if (match[1] !== undefined) found.push(match[1]);
    }
  }
  return found;
}

/** Repository-relative path with `/` separators, whatever the platform. */
function toRepoPath(root: string, absolute: string): string {
  return relative(root, absolute).split(sep).join("/");
}

/** The edges of one file whose text is `source`, at repository path `from`. */
export function edgesOf(root: string, from: string, source: string): ImportEdge[] {
  return specifiersOf(source).map((specifier) => ({
    from,
    specifier,
    target: specifier.startsWith(".")
      ? toRepoPath(root, resolve(root, dirname(from), specifier)).replace(/\.js$/, ".ts")
      : undefined,
  }));
}

/** Folders never scanned: dependencies, generated code, build output. */
const SKIPPED = new Set(["node_modules", "dist", "gen", "data", "test-results"]);

/** Every `.ts` file under `folders` (repository-relative), skipping SKIPPED directories. */
export function sourceFiles(root: string, folders: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED.has(entry.name)) walk(path);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        files.push(path);
      }
    }
  };
  for (const folder of folders) walk(folder);
  return files.sort();
}

/** Every import edge of every `.ts` file under `folders`. */
export function importEdges(root: string, folders: readonly string[]): ImportEdge[] {
  return sourceFiles(root, folders).flatMap((file) =>
    edgesOf(root, file, readFileSync(join(root, file), "utf8")),
  );
}

/** Every folder of hand-written TypeScript the architecture tests scan (gen/ is generated and never imports back). */
export const SCANNED = [
  "app",
  "bin",
  "lib",
  "gateway",
  "services",
  "sdk",
  "console",
  "bench",
  "test",
  "scripts",
  "prisma",
] as const;
