import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type Config, type DeepPartial, loadConfig } from "../lib/config/index.js";
import { SEED_MARKER, seedDemo, seedDemoEnabled } from "./seed-demo.js";

// What seeds and what does not, without a server: every case here returns before any call (the
// target points nowhere, so a call would fail the test). test/console-server runs the real seeding.
const load = (overrides: DeepPartial<Config> = {}) => {
  const dataDir = mkdtempSync(join(tmpdir(), "ws-seed-"));
  return loadConfig({ cwd: dataDir, env: {}, overrides: { dataDir, ...overrides }, needs: [] });
};
const nowhere = { domainTarget: "127.0.0.1:1", inProcess: undefined };
const silent = pino({ level: "silent" });

describe("seedDemo", () => {
  it("is on in the embedded profile unless seed.demo is false, never distributed", () => {
    expect(seedDemoEnabled(load())).toBe(true);
    expect(seedDemoEnabled(load({ seed: { demo: false } }))).toBe(false);
    expect(seedDemoEnabled(load({ profile: "distributed", seed: { demo: true } }))).toBe(false);
  });

  it("skips a data dir seeded before, a switched-off seed, the distributed profile and an app without admin", async () => {
    const seededBefore = load();
    writeFileSync(join(seededBefore.dataDir, SEED_MARKER), "{}\n");
    expect(await seedDemo(seededBefore, nowhere, silent)).toEqual({ seeded: false, reason: "already" });
    expect(await seedDemo(load({ seed: { demo: false } }), nowhere, silent)).toEqual({
      seeded: false,
      reason: "off",
    });
    expect(await seedDemo(load({ profile: "distributed" }), nowhere, silent)).toEqual({
      seeded: false,
      reason: "not-embedded",
    });
    const noAdmin = load({ apps: { "10001": { privateKey: "a-long-private-key" } } });
    expect(await seedDemo(noAdmin, nowhere, silent)).toEqual({ seeded: false, reason: "no-admin" });
  });
});
