// Which code the `whaleshark` command runs: the compiled JavaScript in dist/ (`npm run build`)
// when it is there and up to date, else the TypeScript sources through tsx. Kept apart from
// bin/whaleshark.js so a test can call it; no dependency, nothing loaded before the choice.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Written last by scripts/build.mjs into the output folder; its mtime is the build's time. */
export const BUILD_INFO = "BUILD-INFO.json";

/**
 * The compiled entry (`<distDir>/app/cli.js`) if the build is complete and no file it was built
 * from changed since (every source and asset listed in BUILD-INFO.json, and none gone), else
 * undefined. `WHALESHARK_RUNTIME=tsx` always answers undefined; `=dist` skips the check and
 * throws when there is no build.
 * @param {string} root the repository root
 * @param {NodeJS.ProcessEnv} env
 * @param {string} [distDir] default `<root>/dist`
 * @returns {string | undefined}
 */
export function compiledEntry(root, env, distDir = join(root, "dist")) {
  const mode = env.WHALESHARK_RUNTIME ?? "auto";
  if (mode === "tsx") return undefined;
  const entry = join(distDir, "app", "cli.js");
  let info;
  let builtAt;
  try {
    const infoPath = join(distDir, BUILD_INFO);
    builtAt = statSync(infoPath).mtimeMs;
    info = JSON.parse(readFileSync(infoPath, "utf8"));
  } catch {
    if (mode === "dist")
      throw new Error(`WHALESHARK_RUNTIME=dist but ${distDir} holds no build (npm run build)`);
    return undefined;
  }
  if (mode === "dist") return entry;
  if (!Array.isArray(info?.sources)) return undefined;
  for (const source of info.sources) {
    try {
      if (statSync(join(root, source)).mtimeMs > builtAt) return undefined;
    } catch {
      return undefined;
    }
  }
  return entry;
}
