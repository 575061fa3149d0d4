import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./index.js";
import { leafKinds } from "./schema-keys.js";

const EXAMPLE = fileURLToPath(new URL("../../deploy/config/whaleshark.example.yaml", import.meta.url));

describe("deploy/config/whaleshark.example.yaml", () => {
  it("loads and states exactly the defaults", () => {
    const cwd = mkdtempSync(join(tmpdir(), "ws-config-"));
    const fromExample = loadConfig({ file: EXAMPLE, env: {}, cwd });
    const defaults = loadConfig({ env: {}, cwd });
    expect(fromExample).toEqual(defaults);
  });

  it("mentions every key of the schema and its environment variable", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    for (const path of leafKinds().keys()) {
      const key = path.split(".").pop() ?? path;
      expect(text, path).toMatch(new RegExp(`^\\s*#? ?${key}:`, "m"));
    }
    expect(text).toContain("WHALESHARK_DATABASE_URL");
    expect(text).toContain("WHALESHARK_GATEWAY__TCP_PORT");
  });
});
