#!/usr/bin/env node
// `npm run build [-- --out-dir DIR]`: compiles the `whaleshark` command to JavaScript in dist/
// (or DIR, which must sit inside the repository so node_modules resolve), with the files the code
// reads at run time beside it. tsc follows the imports of app/cli.ts (tsconfig.build.json), so
// only what the command runs is compiled (no tests, no SDK, no bench); esbuild then bundles its
// output (below). The build is written to a temporary folder and moved into place whole, so a
// `whaleshark` starting meanwhile sees the old build or the new one, never half of one;
// BUILD-INFO.json, written last, lists every source and asset it was made from (bin/runtime.js
// runs it only while none of them is newer).
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

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
/** tsc's output, one module per source: esbuild's input, removed once bundled. */
const tscOut = `${outDir}.tsc-${process.pid}`;
const cleanUp = () => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(tscOut, { recursive: true, force: true });
};
cleanUp();
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compiled = spawnSync(
  process.execPath,
  [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", tscOut],
  {
    stdio: "inherit",
  },
);
if (compiled.status !== 0) {
  cleanUp();
  process.exit(compiled.status ?? 1);
}

/**
 * Packages left in node_modules, not bundled: they read files beside themselves at run time
 * (`__dirname`, `import.meta.url`: grpc-js's and grpc-health-check's .proto files, reflection's,
 * pino's transport worker, PGlite's WebAssembly and data files), are optional (`pg-native`) or are
 * what such a package shares with ours (`@grpc/grpc-js`: one copy for the servers and the health
 * service). `guardFileReads` fails the build when another package reads files that way.
 */
const EXTERNAL = [
  "@electric-sql/pglite",
  "@grpc/grpc-js",
  "@grpc/proto-loader",
  "@grpc/reflection",
  "grpc-health-check",
  "pg-native",
  "pino",
  "pino-pretty",
  "protobufjs",
  "thread-stream",
];
/** Bundled packages that name `__dirname` only to shorten stack traces, never to read a file. */
const DIRNAME_HARMLESS = ["node_modules/ioredis/"];

/**
 * One bundle instead of ~720 modules (ours and node_modules'): Node's loaders cost the roles most
 * of their start-up (bench/RESULTS.md, "start-up in one bundle"). Each dynamic `import()` stays a
 * chunk of its own, loaded when first used as before (app/roles.ts, app/deps.ts); every chunk sits
 * in <build>/app, beside cli.js. Our `new URL("<relative>", import.meta.url)` reads are rewritten
 * relative to that folder (`rebaseFileReads`), so they find the assets copied below.
 */
const appOut = join(tmp, "app");
const rebaseFileReads = {
  name: "rebase-file-reads",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (relative(tscOut, args.path).startsWith("..")) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.url")) return { contents: text, loader: "js" };
      const rebased = text.replace(
        /new URL\((["'])(\.{1,2}\/[^"']*)\1, import\.meta\.url\)/g,
        (_, _q, rel) => {
          const target = join(tmp, relative(tscOut, fileURLToPath(new URL(rel, pathToFileURL(args.path)))));
          const fromApp = relative(appOut, target).split("\\").join("/");
          return `new URL(${JSON.stringify(`${fromApp.startsWith(".") ? "" : "./"}${fromApp}${rel.endsWith("/") ? "/" : ""}`)}, import.meta.url)`;
        },
      );
      return { contents: rebased, loader: "js" };
    });
  },
};
const guardFileReads = {
  name: "guard-file-reads",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const reads = text.includes("import.meta.url") || /\b__(dirname|filename)\b/.test(text);
      if (reads && !DIRNAME_HARMLESS.some((p) => args.path.includes(p))) {
        return {
          errors: [
            {
              text: `${relative(root, args.path)} reads files beside itself (__dirname / import.meta.url): add its package to EXTERNAL in scripts/build.mjs`,
            },
          ],
        };
      }
      return undefined;
    });
  },
};
try {
  await build({
    entryPoints: [join(tscOut, "app", "cli.js")],
    outdir: appOut,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    chunkNames: "[name]-[hash]",
    external: EXTERNAL,
    // pino's error serializer logs `err.constructor.name` as `type`: keep class names as written.
    keepNames: true,
    // tsc's source maps are followed, so `node --enable-source-maps` points at the .ts sources
    // (named, not copied into the maps: the sources sit in the checkout the build is made from).
    sourcemap: "linked",
    sourcesContent: false,
    // CommonJS packages in an ES module bundle still call `require` for Node's built-in modules.
    banner: {
      js: 'import { createRequire as __wsCreateRequire } from "node:module"; const require = __wsCreateRequire(import.meta.url);',
    },
    plugins: [rebaseFileReads, guardFileReads],
    logLevel: "warning",
  });
} catch {
  cleanUp(); // esbuild printed the errors
  process.exit(1);
}
for (const asset of ASSETS) cpSync(join(root, asset), join(tmp, asset), { recursive: true });

// The web console the gateway serves (gen/console in the sources, so <build>/gen/console here):
// bundled afresh from console/ and the SDK, as scripts/gen.sh does.
const bundled = spawnSync(process.execPath, [join(root, "console/bundle.mjs"), join(tmp, "gen/console")], {
  stdio: ["ignore", "ignore", "inherit"],
});
if (bundled.status !== 0) {
  cleanUp();
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
const fromTs = walk(tscOut)
  .filter((f) => f.endsWith(".js"))
  .map((f) => f.replace(/\.js$/, ".ts"));
rmSync(tscOut, { recursive: true, force: true });
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
  `build: ${fromTs.length} modules bundled and ${assets.length} assets in ${relative(root, outDir) || "."}`,
);
