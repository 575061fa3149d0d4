import type { ServiceInstance } from "../ports/discovery.js";
import type { ServiceNames } from "./service-names.js";

/** What a gateway process knows about its own endpoints. */
export interface GatewayIdentity {
  nodeId: string;
  /** Address devices connect to (see `advertiseHost`). */
  host: string;
  tcpPort: number;
  wsPort: number;
  /** WebSocket path, e.g. `/ws`. */
  wsPath: string;
}

/**
 * The two instances a gateway registers (spec §4.6): its TCP endpoint under `gatewayTcp` and its
 * WebSocket endpoint under `gatewayWs`, both with id = nodeId and meta `{ nodeId, transport }`
 * (+ `path` for WS). Registered through the discovery port, they are ephemeral: a gateway that
 * dies stops being routed to (the original's persistent znodes did not: D25).
 */
export function gatewayInstances(
  gateway: GatewayIdentity,
  names: Pick<ServiceNames, "gatewayTcp" | "gatewayWs">,
): [tcp: ServiceInstance, ws: ServiceInstance] {
  return [
    {
      service: names.gatewayTcp,
      id: gateway.nodeId,
      host: gateway.host,
      port: gateway.tcpPort,
      meta: { nodeId: gateway.nodeId, transport: "tcp" },
    },
    {
      service: names.gatewayWs,
      id: gateway.nodeId,
      host: gateway.host,
      port: gateway.wsPort,
      meta: { nodeId: gateway.nodeId, transport: "ws", path: gateway.wsPath },
    },
  ];
}
