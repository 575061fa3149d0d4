#!/usr/bin/env node
// Builds the @whaleshark/server-client package into lib/app-client/dist (never committed; `npm pack`
// runs it as prepack): dist/index.js, ESM for Node with the generated service definitions
// (gen/ts), the userSign code (lib/auth) and the metadata names (lib/grpc/auth) bundled in, so the
// package needs nothing else of the server; @grpc/grpc-js and @bufbuild/protobuf stay imports (its
// dependencies). dist/types/ holds the .d.ts by tsc, laid out as in the repository
// (dist/types/lib/app-client/index.d.ts and the gen/ts and lib declarations it refers to).
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: [join(here, "index.ts")],
  outfile: join(dist, "index.js"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  packages: "external",
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const declared = spawnSync(process.execPath, [tsc, "-p", join(here, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (declared.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.exit(declared.status ?? 1);
}
console.log("server-client: dist/index.js, dist/types/");
