import { describe, expect, it } from "vitest";
import { StaticDiscovery, StaticRegistry } from "../adapters/static/discovery.js";
import { advertiseHost } from "./advertise-host.js";
import { GatewayDirectory } from "./gateway-directory.js";
import { gatewayInstances } from "./gateway-registration.js";
import { serviceNames } from "./service-names.js";

describe("gatewayInstances", () => {
  it("registers the TCP and WS endpoints under the gateway services, id and meta = nodeId", () => {
    const [tcp, ws] = gatewayInstances(
      { nodeId: "gw-1", host: "10.0.0.7", tcpPort: 19001, wsPort: 19002, wsPath: "/ws" },
      serviceNames(),
    );
    expect(tcp).toEqual({
      service: "whaleshark.gateway.tcp",
      id: "gw-1",
      host: "10.0.0.7",
      port: 19001,
      meta: { nodeId: "gw-1", transport: "tcp" },
    });
    expect(ws).toEqual({
      service: "whaleshark.gateway.ws",
      id: "gw-1",
      host: "10.0.0.7",
      port: 19002,
      meta: { nodeId: "gw-1", transport: "ws", path: "/ws" },
    });
  });
});

describe("GatewayDirectory", () => {
  it("is ready once both lists arrived and follows registrations", async () => {
    const registry = new StaticRegistry();
    const gateway = new StaticDiscovery(registry);
    const directory = GatewayDirectory.watch(new StaticDiscovery(registry), serviceNames());
    expect(directory.endpoints("tcp")).toEqual([]);
    expect(await directory.ready(1000)).toBe(true);
    for (const i of gatewayInstances(
      { nodeId: "gw-1", host: "10.0.0.7", tcpPort: 19001, wsPort: 19002, wsPath: "/ws" },
      serviceNames(),
    )) {
      await gateway.register(i);
    }
    await new Promise((r) => setTimeout(r, 5));
    expect(directory.endpoints("ws")).toEqual([
      { nodeId: "gw-1", host: "10.0.0.7", port: 19002, transport: "ws" },
    ]);
    await gateway.close();
    await new Promise((r) => setTimeout(r, 5));
    expect(directory.endpoints("tcp")).toEqual([]);
    directory.close();
  });

  it("reports not ready when the registry never answers", async () => {
    const silent = {
      watch: () => () => {},
      register: async () => {},
      deregister: async () => {},
      close: async () => {},
    };
    expect(await GatewayDirectory.watch(silent, serviceNames()).ready(30)).toBe(false);
  });
});

describe("advertiseHost", () => {
  it("prefers the configured host, then a concrete bind host, never a wildcard", () => {
    expect(advertiseHost("gw.example.com", "0.0.0.0")).toBe("gw.example.com");
    expect(advertiseHost(undefined, "10.1.2.3")).toBe("10.1.2.3");
    const derived = advertiseHost(undefined, "0.0.0.0");
    expect(derived).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(derived).not.toBe("0.0.0.0");
  });
});
