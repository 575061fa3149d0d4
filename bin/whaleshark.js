#!/usr/bin/env node
// The `whaleshark` command. It runs the compiled JavaScript in dist/ when `npm run build` made it
// and no source changed since (bin/runtime.js), else the TypeScript sources in place through tsx's
// loader, so a clone needs no build step beyond `npm install`. WHALESHARK_RUNTIME=tsx|dist forces one.
import { fileURLToPath, pathToFileURL } from "node:url";
import { compiledEntry } from "./runtime.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const compiled = compiledEntry(root, process.env);
let main;
if (compiled !== undefined) {
  ({ main } = await import(pathToFileURL(compiled).href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../app/cli.ts"));
}
process.exitCode = await main(process.argv.slice(2));
