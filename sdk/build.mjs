#!/usr/bin/env node
// Builds the @whaleshark/sdk package into sdk/dist (never committed; `npm pack` runs it as prepack):
//   dist/index.js, dist/transport/tcp.js  ESM for Node and bundlers. The wire codec (lib/wire), the
//       error catalogue and the generated contract types (gen/ts) are bundled in, so the package
//       needs nothing of the server; @bufbuild/protobuf stays an import (the package's dependency).
//       Both entries share one chunk, so the TCP transport and the client use the same classes
//       (instanceof FrameError / ClientError holds across them).
//   dist/browser/whaleshark-sdk.js  one self-contained ESM file for a <script type="module">, no
//       imports left (@bufbuild/protobuf bundled too); platform "browser" makes esbuild refuse any
//       node: import, so a bundle that builds is one a browser can load.
//   dist/types/  .d.ts by tsc (sdk/tsconfig.build.json): dist/types/sdk/index.d.ts and the lib/ and
//       gen/ts declarations it refers to, laid out as in the repository so relative imports resolve.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const sdk = fileURLToPath(new URL(".", import.meta.url));
const dist = join(sdk, "dist");
rmSync(dist, { recursive: true, force: true });

const common = {
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: { index: join(sdk, "index.ts"), "transport/tcp": join(sdk, "transport/tcp.ts") },
  outdir: dist,
  platform: "node",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  // Bare imports (@bufbuild/protobuf, node:net) stay imports; relative ones (../lib, ../gen) are bundled.
  packages: "external",
});

await build({
  ...common,
  entryPoints: [join(sdk, "index.ts")],
  outfile: join(dist, "browser/whaleshark-sdk.js"),
  platform: "browser",
  minify: true,
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const declared = spawnSync(process.execPath, [tsc, "-p", join(sdk, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (declared.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.exit(declared.status ?? 1);
}
console.log("sdk: dist/index.js, dist/transport/tcp.js, dist/browser/whaleshark-sdk.js, dist/types/");
