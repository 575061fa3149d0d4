import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { type Config, type DeepPartial, loadConfig } from "../lib/config/index.js";
import type { RoleHandle } from "../lib/role/role.js";
import { consoleUrl, startBanner } from "./banner.js";

const cwd = mkdtempSync(join(tmpdir(), "ws-banner-"));
const load = (overrides: DeepPartial<Config> = {}) => loadConfig({ cwd, env: {}, overrides, needs: [] });
const stop = async () => undefined;
const handles: RoleHandle[] = [
  { role: "store", grpcAddress: "127.0.0.1:18001", stop },
  { role: "domain", grpcAddress: "0.0.0.0:18000", stop },
  { role: "gateway", grpcAddress: "127.0.0.1:19000", endpoints: { tcpPort: 19001, wsPort: 19002 }, stop },
];

describe("the start-up banner", () => {
  it("names the console, the addresses, the data, the demo data and the admin's token command", () => {
    const config = load({ dataDir: "./somewhere" });
    const text = startBanner(config, handles, {
      seeded: true,
      users: ["alice", "bob", "carol"],
      groupId: "g",
    });
    expect(text).toContain("Console    http://localhost:19002/   (demo login ON");
    expect(text).toContain("tcp://localhost:19001   ws://localhost:19002/ws");
    expect(text).toContain("domain localhost:18000   store 127.0.0.1:18001");
    expect(text).toContain(`Data       ${resolve("./somewhere")}`);
    expect(text).toContain('users alice, bob, carol, group "g" (seeded now)');
    expect(text).toContain('app 10001, user "admin": npx whaleshark token --app 10001 --user admin');
    expect(consoleUrl(config, handles)).toBe("http://localhost:19002/");
  });

  it("says when the console is off and leaves out an admin that is not configured", () => {
    const config = load({
      gateway: { console: false, host: "10.0.0.7" },
      apps: { "10001": { privateKey: "a-long-private-key" } },
    });
    const text = startBanner(config, handles, { seeded: false, reason: "no-admin" });
    expect(text).toContain("Console    off (gateway.console)");
    expect(text).toContain("tcp://10.0.0.7:19001");
    expect(text).not.toContain("Admin");
    expect(text).not.toContain("Demo data");
    expect(consoleUrl(config, handles)).toBeUndefined();
  });
});
