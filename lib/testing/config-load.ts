import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";

/** A fresh, empty folder to load a config from (no whaleshark.yaml in it): the tests' `cwd`. */
export function emptyConfigFolder(prefix = "ws-config-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The problems a config load reports ([] when it loads); anything else it throws is rethrown. */
export function configProblems(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
