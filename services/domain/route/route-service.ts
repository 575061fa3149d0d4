import { ClientType, type RouteModel as ProtoRouteModel } from "../../../gen/ts/whaleshark/v1/enums.js";
import {
  GatewayTransport,
  type GatewayEndpoint as ProtoGatewayEndpoint,
  type RouteServiceService,
} from "../../../gen/ts/whaleshark/v1/route_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { GatewayDirectory } from "../../../lib/routing/gateway-directory.js";
import {
  endpointName,
  type GatewayEndpoint,
  GatewayRouter,
  type RouteModel,
  type GatewayTransport as Transport,
} from "../../../lib/routing/gateway-router.js";
import { required } from "../core/guards.js";

/** What the RouteService handlers are built from. */
export interface RouteServiceDeps {
  /** Live gateway endpoints (`GatewayDirectory.watch(discovery, serviceNames(prefix))`); the caller closes it. */
  gateways: Pick<GatewayDirectory, "endpoints" | "ready">;
  /** Config `discovery.routeModel`: 1 RANDOM, 2 LOOP, 3 HASH. */
  routeModel: RouteModel;
  /** Uniform in [0, 1) for RANDOM (tests pin it). */
  random?: () => number;
  /**
   * How long a call right after start-up waits for the registry's first answer before it
   * concludes that no gateway is alive (71000). Default 2000 ms.
   */
  readyTimeoutMs?: number;
}

/**
 * The live endpoints but those the device could not reach (`host:port`), or all of them when that
 * leaves none: a gateway killed a moment ago is still registered until its discovery session
 * expires, and a device that names it is routed to another one at once; with HASH the same user
 * lands on the same one of the rest every time.
 */
function avoiding(
  endpoints: readonly GatewayEndpoint[],
  avoid: readonly string[],
): readonly GatewayEndpoint[] {
  if (avoid.length === 0) return endpoints;
  const rest = endpoints.filter((e) => !avoid.includes(endpointName(e)));
  return rest.length > 0 ? rest : endpoints;
}

const TO_PROTO: Record<Transport, GatewayTransport> = {
  tcp: GatewayTransport.GATEWAY_TRANSPORT_TCP,
  ws: GatewayTransport.GATEWAY_TRANSPORT_WS,
};

/**
 * RouteService (route_service.proto; spec §4.6, §6.3 #3): which gateway a device connects to.
 * Gateways come from discovery, so only live ones are offered (the original's persistent
 * registrations kept dead gateways routable: D25). Web clients (client_type 1) get a WebSocket
 * endpoint, every other client type a TCP one, chosen by the route model; HASH is the original's
 * consistent hash of user_id, so a user keeps landing on the same gateway across calls and domain
 * processes while the gateway set is unchanged. Callers are authenticated by `serveApp` like
 * every app-facing call; the user need not exist (as in the original).
 */
export function routeServiceHandlers(deps: RouteServiceDeps): AppHandlers<typeof RouteServiceService> {
  const router = new GatewayRouter(deps.routeModel, deps.random);
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2000;

  return {
    /**
     * Errors: 71000 when no gateway of the transport is alive; 90001 without user_id (and, at the
     * edge, with more than 16 endpoints to avoid: lib/grpc/limits.ts).
     */
    async getGatewayAddress(req) {
      const userId = required(req.userId, "user_id");
      await deps.gateways.ready(readyTimeoutMs);
      const transport: Transport = req.clientType === ClientType.CLIENT_TYPE_WEB ? "ws" : "tcp";
      const endpoints = deps.gateways.endpoints(transport);
      if (endpoints.length === 0) {
        throw ImError.of(
          "SERVER_NOT_AVAILABLE",
          `no live ${transport === "ws" ? "WebSocket" : "TCP"} gateway`,
        );
      }
      const chosen = router.pick(avoiding(endpoints, req.avoid), userId);
      return { ip: chosen.host, port: chosen.port, transport: TO_PROTO[transport] };
    },

    /** Every live endpoint (optionally of one transport), sorted by transport then address. */
    async listGateways(req) {
      await deps.gateways.ready(readyTimeoutMs);
      const wanted: Transport[] =
        req.transport === GatewayTransport.GATEWAY_TRANSPORT_TCP
          ? ["tcp"]
          : req.transport === GatewayTransport.GATEWAY_TRANSPORT_WS
            ? ["ws"]
            : ["tcp", "ws"];
      const gateways = wanted.flatMap((t) => [...deps.gateways.endpoints(t)].sort(byName).map(toProto));
      return { gateways, routeModel: deps.routeModel as number as ProtoRouteModel };
    },
  };
}

function byName(a: GatewayEndpoint, b: GatewayEndpoint): number {
  const [x, y] = [endpointName(a), endpointName(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

function toProto(endpoint: GatewayEndpoint): ProtoGatewayEndpoint {
  return {
    nodeId: endpoint.nodeId,
    ip: endpoint.host,
    port: endpoint.port,
    transport: TO_PROTO[endpoint.transport],
  };
}
