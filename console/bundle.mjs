#!/usr/bin/env node
// Bundles the web console into OUT_DIR (default gen/console): the SDK's browser build as its own
// ESM file (sdk.js, from sdk/index.ts), the page (app.js, from console/main.ts) importing it as
// "./sdk.js", and index.html / console.css copied as they are. Called by scripts/gen.sh (npm
// install, npm run gen) and scripts/build.mjs (npm run build). platform "browser" makes esbuild
// refuse any node: import, so a bundle that builds is one a browser can load.
import { copyFileSync, mkdirSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const arg = process.argv[2] ?? "gen/console";
const out = isAbsolute(arg) ? arg : join(root, arg);
mkdirSync(out, { recursive: true });

/** Files copied beside the bundles (the page's shell and style). */
const STATIC_FILES = ["index.html", "console.css"];

const common = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: "linked",
  legalComments: "none",
  minify: true,
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: [join(root, "sdk/index.ts")],
  outfile: join(out, "sdk.js"),
});

/** The page imports the SDK through sdk/index.js; in the bundle that is the separate ./sdk.js. */
const sdkAsSeparateFile = {
  name: "sdk-as-separate-file",
  setup(b) {
    b.onResolve({ filter: /\/sdk\/index\.js$/ }, () => ({ path: "./sdk.js", external: true }));
  },
};
await build({
  ...common,
  entryPoints: [join(root, "console/main.ts")],
  outfile: join(out, "app.js"),
  plugins: [sdkAsSeparateFile],
});
for (const file of STATIC_FILES) copyFileSync(join(root, "console", file), join(out, file));
console.log(`console: sdk.js, app.js, ${STATIC_FILES.join(", ")} in ${relative(root, out) || "."}`);
