/** Written last by scripts/build.mjs into the output folder; its mtime is the build's time. */
export declare const BUILD_INFO: string;
/** See bin/runtime.js. */
export declare function compiledEntry(
  root: string,
  env: NodeJS.ProcessEnv,
  distDir?: string,
): string | undefined;
