import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { RouteModel } from "../../../gen/ts/whaleshark/v1/enums.js";
import {
  GatewayTransport,
  GetGatewayAddressRequest,
  ListGatewaysRequest,
} from "../../../gen/ts/whaleshark/v1/route_service.js";
import { StaticDiscovery, StaticRegistry } from "../../../lib/adapters/static/discovery.js";
import { isImError } from "../../../lib/errors/index.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import { GatewayDirectory } from "../../../lib/routing/gateway-directory.js";
import { gatewayInstances } from "../../../lib/routing/gateway-registration.js";
import { type RouteModel as Model, RouteModels } from "../../../lib/routing/gateway-router.js";
import { serviceNames } from "../../../lib/routing/service-names.js";
import { routeServiceHandlers } from "./route-service.js";

const names = serviceNames();
const ctx: RequestContext = {
  appId: 10001,
  operator: "u1",
  identifier: "u1",
  device: { clientType: 2, imei: "phone" },
  isAdmin: async () => false,
  log: pino({ level: "silent" }),
};

/** A registry with gateways registered as separate "processes" (one discovery handle each). */
async function cluster(gateways: Array<{ nodeId: string; tcpPort: number; wsPort: number }>) {
  const registry = new StaticRegistry();
  const handles = await Promise.all(
    gateways.map(async (g) => {
      const handle = new StaticDiscovery(registry);
      for (const instance of gatewayInstances({ ...g, host: "127.0.0.1", wsPath: "/ws" }, names)) {
        await handle.register(instance);
      }
      return handle;
    }),
  );
  const domainSide = new StaticDiscovery(registry);
  const directory = GatewayDirectory.watch(domainSide, names);
  return { handles, directory, close: () => Promise.all([...handles, domainSide].map((h) => h.close())) };
}

const TWO = [
  { nodeId: "gw-1", tcpPort: 19001, wsPort: 19002 },
  { nodeId: "gw-2", tcpPort: 19011, wsPort: 19012 },
];

const address = (clientType: number, userId: string) =>
  GetGatewayAddressRequest.fromPartial({ appId: 10001, operater: "u1", clientType, imei: "x", userId });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

describe("RouteService", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function handlersFor(model: Model, gateways = TWO) {
    const c = await cluster(gateways);
    cleanups.push(c.close);
    return {
      ...c,
      handlers: routeServiceHandlers({ gateways: c.directory, routeModel: model, readyTimeoutMs: 200 }),
    };
  }

  it("HASH: the original's ring picks 127.0.0.1:19011 for u1 over TCP, every call", async () => {
    const { handlers } = await handlersFor(RouteModels.HASH);
    for (let i = 0; i < 3; i++) {
      expect(await handlers.getGatewayAddress!(address(2, "u1"), ctx)).toEqual({
        ip: "127.0.0.1",
        port: 19011,
        transport: GatewayTransport.GATEWAY_TRANSPORT_TCP,
      });
    }
    // "10001" hashes next to a virtual node of 127.0.0.1:19001 (see lib/routing/consistent-hash.test.ts).
    expect((await handlers.getGatewayAddress!(address(3, "10001"), ctx)).port).toBe(19001);
  });

  it("HASH is the same in another domain process with its own directory", async () => {
    const first = await handlersFor(RouteModels.HASH);
    const second = await handlersFor(RouteModels.HASH, [...TWO].reverse());
    for (let i = 0; i < 30; i++) {
      const req = address(4, `user${i}`);
      const a = await first.handlers.getGatewayAddress!(req, ctx);
      expect(await second.handlers.getGatewayAddress!(req, ctx)).toEqual(a);
    }
  });

  it("web clients (client_type 1) get a WebSocket endpoint", async () => {
    const { handlers } = await handlersFor(RouteModels.HASH);
    const res = await handlers.getGatewayAddress!(address(1, "u1"), ctx);
    expect(res.transport).toBe(GatewayTransport.GATEWAY_TRANSPORT_WS);
    expect([19002, 19012]).toContain(res.port);
  });

  it("LOOP alternates between the live gateways", async () => {
    const { handlers } = await handlersFor(RouteModels.LOOP);
    const ports = [];
    for (let i = 0; i < 4; i++) ports.push((await handlers.getGatewayAddress!(address(2, "u1"), ctx)).port);
    expect(ports).toEqual([19011, 19001, 19011, 19001]);
  });

  it("a gateway that deregisters is no longer offered", async () => {
    const { handlers, handles } = await handlersFor(RouteModels.HASH);
    await handles[1]!.close(); // gw-2 (19011) shuts down
    await new Promise((r) => setTimeout(r, 10));
    expect((await handlers.getGatewayAddress!(address(2, "u1"), ctx)).port).toBe(19001);
  });

  it("routes around the endpoints a device could not reach while another is live (avoid)", async () => {
    const { handlers } = await handlersFor(RouteModels.HASH);
    const avoid = (list: string[]) => ({ ...address(2, "u1"), avoid: list });
    // u1 hashes to 19011 (above); a device that could not reach it is sent to 19001, every call.
    for (let i = 0; i < 2; i++) {
      expect((await handlers.getGatewayAddress!(avoid(["127.0.0.1:19011"]), ctx)).port).toBe(19001);
    }
    // Naming every live endpoint leaves the choice as without the list; an unknown one changes nothing.
    expect((await handlers.getGatewayAddress!(avoid(["127.0.0.1:19011", "127.0.0.1:19001"]), ctx)).port).toBe(
      19011,
    );
    expect((await handlers.getGatewayAddress!(avoid(["10.0.0.9:1"]), ctx)).port).toBe(19011);
  });

  it("no live gateway gives 71000 SERVER_NOT_AVAILABLE; no user_id gives 90001", async () => {
    const { handlers } = await handlersFor(RouteModels.RANDOM, []);
    const none = await failure(handlers.getGatewayAddress!(address(2, "u1"), ctx));
    expect(isImError(none) && none.code).toBe(71000);
    const noUser = await failure(handlers.getGatewayAddress!(address(2, ""), ctx));
    expect(isImError(noUser) && noUser.code).toBe(90001);
  });

  it("ListGateways lists every live endpoint with its node id, filtered by transport", async () => {
    const { handlers } = await handlersFor(RouteModels.LOOP);
    const all = await handlers.listGateways!(ListGatewaysRequest.fromPartial({ appId: 10001 }), ctx);
    expect(all.routeModel).toBe(RouteModel.ROUTE_MODEL_LOOP);
    expect(all.gateways.map((g) => `${g.nodeId} ${g.ip}:${g.port} ${g.transport}`)).toEqual([
      "gw-1 127.0.0.1:19001 1",
      "gw-2 127.0.0.1:19011 1",
      "gw-1 127.0.0.1:19002 2",
      "gw-2 127.0.0.1:19012 2",
    ]);
    const ws = await handlers.listGateways!(
      ListGatewaysRequest.fromPartial({ transport: GatewayTransport.GATEWAY_TRANSPORT_WS }),
      ctx,
    );
    expect(ws.gateways.map((g) => g.port)).toEqual([19002, 19012]);
  });
});
