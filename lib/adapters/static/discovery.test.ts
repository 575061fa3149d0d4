import { describe, expect, it } from "vitest";
import { discoveryContract } from "../../ports/discovery.contract.js";
import type { ServiceInstance } from "../../ports/discovery.js";
import { StaticDiscovery, StaticRegistry } from "./discovery.js";

discoveryContract("static", async () => {
  const registry = new StaticRegistry();
  return { open: async () => new StaticDiscovery(registry) };
});

// Static-only: instances fixed by configuration.
describe("StaticDiscovery seeded from configuration", () => {
  const seeded: ServiceInstance = {
    service: "whaleshark.domain",
    id: "static-0",
    host: "10.0.0.5",
    port: 18000,
    meta: {},
  };

  it("lists fixed instances next to registered ones", async () => {
    const d = new StaticDiscovery(new StaticRegistry([seeded]));
    await d.register({ ...seeded, id: "live-1", port: 18010 });
    const lists: string[][] = [];
    d.watch("whaleshark.domain", (list) => lists.push(list.map((i) => `${i.id}@${i.port}`)));
    await new Promise((r) => setTimeout(r, 10));
    expect(lists).toEqual([["live-1@18010", "static-0@18000"]]);
    await d.close();
  });

  it("refuses to replace a fixed instance", async () => {
    const d = new StaticDiscovery(new StaticRegistry([seeded]));
    await expect(d.register({ ...seeded, port: 1 })).rejects.toThrow(/fixed by configuration/);
  });
});
