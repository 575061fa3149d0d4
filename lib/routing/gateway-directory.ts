import type { Discovery, ServiceInstance, Unwatch } from "../ports/discovery.js";
import type { GatewayEndpoint, GatewayTransport } from "./gateway-router.js";
import type { ServiceNames } from "./service-names.js";

/**
 * The live gateway endpoints of the cluster, kept current by two discovery watches (TCP and
 * WebSocket). Reads are synchronous from the last delivered lists; `ready` tells whether both
 * initial lists arrived, so a routing call made right after start-up does not answer 71000 just
 * because the registry had not answered yet.
 */
export class GatewayDirectory {
  private readonly lists: Record<GatewayTransport, GatewayEndpoint[] | undefined> = {
    tcp: undefined,
    ws: undefined,
  };
  private readonly unwatch: Unwatch[];
  private readonly waiters = new Set<() => void>();

  private constructor(discovery: Discovery, names: Pick<ServiceNames, "gatewayTcp" | "gatewayWs">) {
    this.unwatch = [
      discovery.watch(names.gatewayTcp, (instances) => this.update("tcp", instances)),
      discovery.watch(names.gatewayWs, (instances) => this.update("ws", instances)),
    ];
  }

  /** Starts watching the gateway services; `close()` stops. */
  static watch(
    discovery: Discovery,
    names: Pick<ServiceNames, "gatewayTcp" | "gatewayWs">,
  ): GatewayDirectory {
    return new GatewayDirectory(discovery, names);
  }

  /** The live endpoints of one transport (empty before the first list and when none is alive). */
  endpoints(transport: GatewayTransport): readonly GatewayEndpoint[] {
    return this.lists[transport] ?? [];
  }

  /** Resolves true once both initial lists arrived, false if `timeoutMs` passes first. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Stops both watches; the last lists stay readable. */
  close(): void {
    for (const stop of this.unwatch) stop();
  }

  private isReady(): boolean {
    return this.lists.tcp !== undefined && this.lists.ws !== undefined;
  }

  private update(transport: GatewayTransport, instances: readonly ServiceInstance[]): void {
    this.lists[transport] = instances.map((i) => ({
      nodeId: i.meta.nodeId ?? i.id,
      host: i.host,
      port: i.port,
      transport,
    }));
    if (this.isReady()) for (const done of [...this.waiters]) done();
  }
}
