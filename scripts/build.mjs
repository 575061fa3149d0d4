#!/usr/bin/env node
// `npm run build [-- --out-dir DIR]`: compiles the `whaleshark` command to JavaScript in dist/
// (or DIR, which must sit inside the repository so node_modules resolve), with the files the code
// reads at run time beside it. tsc follows the imports of app/cli.ts (tsconfig.build.json), so
// only what the command runs is compiled (no tests, no SDK, no bench). The build is written to a
// temporary folder and moved into place whole, so a `whaleshark` starting meanwhile sees the old
// build or the new one, never half of one; BUILD-INFO.json, written last, lists every source and
// asset it was made from (bin/runtime.js runs it only while none of them is newer).
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { "out-dir": { type: "string", default: "dist" } } });
const outDir = isAbsolute(values["out-dir"]) ? values["out-dir"] : join(root, values["out-dir"]);
if (relative(root, outDir).startsWith("..")) {
  console.error(
    `build: --out-dir must be inside ${root} (the compiled code resolves node_modules from there)`,
  );
  process.exit(2);
}

/** Files the code reads at run time through `new URL(..., import.meta.url)`, copied as they are. */
const ASSETS = ["lib/adapters/redis/lua", "gen/descriptor.binpb", "prisma/migrations"];

const tmp = `${outDir}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compiled = spawnSync(
  process.execPath,
  [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", tmp],
  {
    stdio: "inherit",
  },
);
if (compiled.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  process.exit(compiled.status ?? 1);
}
for (const asset of ASSETS) cpSync(join(root, asset), join(tmp, asset), { recursive: true });

// The web console the gateway serves (gen/console in the sources, so <build>/gen/console here):
// bundled afresh from console/ and the SDK, as scripts/gen.sh does.
const bundled = spawnSync(process.execPath, [join(root, "console/bundle.mjs"), join(tmp, "gen/console")], {
  stdio: ["ignore", "ignore", "inherit"],
});
if (bundled.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  process.exit(bundled.status ?? 1);
}

// The compiled command: what bin/whaleshark.js runs, and what a compiled `whaleshark cluster`
// spawns for its members (app/cluster-member.ts: ../bin/whaleshark.js from app/).
mkdirSync(join(tmp, "bin"), { recursive: true });
writeFileSync(
  join(tmp, "bin", "whaleshark.js"),
  `#!/usr/bin/env node
// Written by scripts/build.mjs: the \`whaleshark\` command from the compiled JavaScript only.
import { main } from "../app/cli.js";

process.exitCode = await main(process.argv.slice(2));
`,
  { mode: 0o755 },
);

/** Every file under dir, relative to it. */
function walk(dir, prefix = "") {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}
const fromTs = walk(tmp)
  .filter((f) => f.endsWith(".js") && !f.startsWith("bin/") && !f.startsWith("gen/console/"))
  .map((f) => f.replace(/\.js$/, ".ts"));
const assets = ASSETS.flatMap((a) => (a.includes(".") ? [a] : walk(join(root, a)).map((f) => `${a}/${f}`)));
/** What the console bundle is made of: a change to the page or the SDK makes the build stale. */
const consoleSources = ["console", "sdk"].flatMap((d) =>
  walk(join(root, d))
    .filter((f) => !f.endsWith(".test.ts"))
    .map((f) => `${d}/${f}`),
);
const sources = [
  ...new Set([...fromTs, ...assets, ...consoleSources, "tsconfig.json", "tsconfig.build.json"]),
].sort();
for (const s of sources) if (!existsSync(join(root, s))) throw new Error(`build: no source ${s}`);
writeFileSync(
  join(tmp, "BUILD-INFO.json"),
  `${JSON.stringify({ builtAt: new Date().toISOString(), sources }, null, 1)}\n`,
);

mkdirSync(dirname(outDir), { recursive: true });
const old = `${outDir}.old-${process.pid}`;
if (existsSync(outDir)) renameSync(outDir, old);
renameSync(tmp, outDir);
rmSync(old, { recursive: true, force: true });
console.log(
  `build: ${fromTs.length} modules and ${assets.length} assets in ${relative(root, outDir) || "."}`,
);
