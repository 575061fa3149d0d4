import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Config, type DeepPartial, loadConfig } from "../../lib/config/index.js";
import { consoleSettings } from "./settings.js";

const cwd = mkdtempSync(join(tmpdir(), "ws-console-settings-"));
const load = (overrides: DeepPartial<Config>, env: NodeJS.ProcessEnv = {}) =>
  loadConfig({ cwd, env, overrides, needs: [] });

describe("consoleSettings", () => {
  it("is on with the demo login in the embedded profile, off in the distributed one", () => {
    expect(consoleSettings(load({}))).toMatchObject({ enabled: true, demoLogin: true, appId: 10001 });
    expect(consoleSettings(load({ profile: "distributed" }))).toMatchObject({
      enabled: false,
      demoLogin: false,
    });
  });

  it("follows the keys when they are set, from the environment too", () => {
    const on = load(
      { profile: "distributed" },
      {
        WHALESHARK_GATEWAY__CONSOLE: "true",
        WHALESHARK_CONSOLE__DEMO_LOGIN: "true",
        WHALESHARK_GATEWAY__CONSOLE_HTTP_API: "https://api.example.com",
      },
    );
    expect(consoleSettings(on)).toMatchObject({
      enabled: true,
      demoLogin: true,
      httpApi: "https://api.example.com",
    });
    const off = load({ gateway: { console: false }, console: { demoLogin: false } });
    expect(consoleSettings(off)).toMatchObject({ enabled: false, demoLogin: false });
  });

  it("refuses a console HTTP API that is not an http(s) URL", () => {
    expect(() => load({}, { WHALESHARK_GATEWAY__CONSOLE_HTTP_API: "ftp://x" })).toThrow(
      /gateway\.consoleHttpApi.*expected a http:\/\/ or https:\/\/ URL/,
    );
  });
});
