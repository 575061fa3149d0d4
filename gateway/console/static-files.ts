import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the built page is: `gen/console/` beside the sources (`npm run gen`), and the same path
 * under `dist/` when the command runs a build (scripts/build.mjs copies it), found from this
 * module's own location as `gen/descriptor.binpb` is (lib/grpc/descriptor.ts).
 */
export const CONSOLE_DIR = fileURLToPath(new URL("../../gen/console/", import.meta.url));

/** Content types by extension; anything else is served as bytes. */
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** The content type of a file name. */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

/** One path segment a console file may have: no dot-only names, no hidden files, no separators. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * The file under `root` that the (still URL-encoded) relative path names, or undefined when the
 * path is not a plain file name: anything with `..`, encoded or not, a backslash, NUL, an empty or
 * hidden segment, or that would resolve outside `root`.
 */
export function resolveConsoleFile(root: string, encoded: string): string | undefined {
  let relative: string;
  try {
    relative = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  const segments = relative.split("/");
  if (segments.length > 8 || !segments.every((s) => SEGMENT.test(s) && !s.includes(".."))) return undefined;
  const base = resolve(root);
  const file = resolve(join(base, ...segments));
  return file.startsWith(base + sep) ? file : undefined;
}

/** A file read for an answer: its bytes and content type; undefined when there is no such file. */
export async function readConsoleFile(
  file: string,
): Promise<{ body: Buffer; contentType: string } | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return undefined; // never a directory listing
    return { body: await readFile(file), contentType: contentTypeOf(file) };
  } catch {
    return undefined;
  }
}
