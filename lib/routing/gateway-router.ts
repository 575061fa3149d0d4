import { ImError } from "../errors/index.js";
import { ConsistentHashRing } from "./consistent-hash.js";

/** How a gateway is picked (spec §4.6 `imRouteModel`; the proto's RouteModel numbers). */
export const RouteModels = { RANDOM: 1, LOOP: 2, HASH: 3 } as const;

/** 1 RANDOM, 2 LOOP, 3 HASH. */
export type RouteModel = (typeof RouteModels)[keyof typeof RouteModels];

/** How a device talks to a gateway endpoint. */
export type GatewayTransport = "tcp" | "ws";

/** One live endpoint of one gateway node, as the routing call returns it. */
export interface GatewayEndpoint {
  /** The gateway's nodeId (pushes are routed by it). */
  nodeId: string;
  host: string;
  port: number;
  transport: GatewayTransport;
}

/** `"{ip}:{port}"`: the original's ZooKeeper child name and the value its hash ring stores. */
export function endpointName(endpoint: Pick<GatewayEndpoint, "host" | "port">): string {
  return `${endpoint.host}:${endpoint.port}`;
}

/**
 * Picks one gateway endpoint for a user by the configured route model (spec §4.6):
 * - RANDOM: uniform over the list;
 * - LOOP: a counter shared by every call of this router, `++n % size` (the original's
 *   AtomicLong `incrementAndGet() % size`) over the list sorted by name;
 * - HASH: the original's consistent hash of the userId ({@link ConsistentHashRing}), so the same
 *   user gets the same endpoint in every process for as long as the node set is unchanged, and
 *   only the users of a node that left move.
 * The ring is rebuilt only when the endpoint list changes.
 */
export class GatewayRouter {
  private counter = 0;
  private ring: { key: string; ring: ConsistentHashRing; byName: Map<string, GatewayEndpoint> } | undefined;

  /** @param random uniform in [0, 1); injectable so tests can pin RANDOM */
  constructor(
    readonly model: RouteModel,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * @throws ImError SERVER_NOT_AVAILABLE (71000) when `endpoints` is empty
   */
  pick(endpoints: readonly GatewayEndpoint[], userId: string): GatewayEndpoint {
    const sorted = [...endpoints].sort((a, b) => compare(endpointName(a), endpointName(b)));
    if (sorted.length === 0) throw ImError.of("SERVER_NOT_AVAILABLE", "no live gateway");
    let chosen: GatewayEndpoint | undefined;
    switch (this.model) {
      case RouteModels.RANDOM:
        chosen = sorted[Math.min(sorted.length - 1, Math.floor(this.random() * sorted.length))];
        break;
      case RouteModels.LOOP:
        this.counter = (this.counter + 1) % Number.MAX_SAFE_INTEGER;
        chosen = sorted[this.counter % sorted.length];
        break;
      case RouteModels.HASH: {
        const { ring, byName } = this.ringFor(sorted);
        const name = ring.lookup(userId);
        chosen = name === undefined ? undefined : byName.get(name);
        break;
      }
    }
    if (chosen === undefined) throw ImError.of("SERVER_NOT_AVAILABLE", "no live gateway");
    return chosen;
  }

  private ringFor(sorted: readonly GatewayEndpoint[]) {
    const names = sorted.map(endpointName);
    const key = names.join(",");
    if (this.ring?.key !== key) {
      this.ring = {
        key,
        ring: new ConsistentHashRing(names),
        byName: new Map(sorted.map((e) => [endpointName(e), e])),
      };
    }
    return this.ring;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
