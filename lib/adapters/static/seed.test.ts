import { describe, expect, it } from "vitest";
import { loadConfig } from "../../config/index.js";
import { StaticDiscovery, StaticRegistry } from "./discovery.js";
import { staticSeed } from "./seed.js";

describe("staticSeed", () => {
  it("turns discovery.domain and discovery.store into fixed instances", async () => {
    const config = loadConfig({
      env: {},
      cwd: "/",
      overrides: {
        discovery: { domain: "domain.internal:18100", store: "10.1.2.3:18101", servicePrefix: "im" },
      },
    });
    expect(staticSeed(config.discovery)).toEqual([
      { service: "im.domain", id: "static", host: "domain.internal", port: 18100, meta: {} },
      { service: "im.store", id: "static", host: "10.1.2.3", port: 18101, meta: {} },
    ]);
    const discovery = new StaticDiscovery(new StaticRegistry(staticSeed(config.discovery)));
    const seen = await new Promise<string[]>((resolve) =>
      discovery.watch("im.store", (list) => resolve(list.map((i) => `${i.host}:${i.port}`))),
    );
    expect(seen).toEqual(["10.1.2.3:18101"]);
    await discovery.close();
  });
});
