import type { Logger } from "pino";
import { StaticDiscovery, StaticRegistry, staticSeed } from "../lib/adapters/static/index.js";
import type { Config } from "../lib/config/index.js";
import {
  DISCOVERY_SCHEMES,
  discoveryTarget,
  registerDiscoveryResolver,
} from "../lib/grpc/resolvers/index.js";
import type { Discovery } from "../lib/ports/discovery.js";
import type { RoleHandle } from "../lib/role/role.js";
import { advertiseHost, gatewayInstances, type ServiceNames, serviceNames } from "../lib/routing/index.js";

/** The discovery of one process: the adapter, the gRPC targets, and role registration. */
export interface ProcessDiscovery {
  discovery: Discovery;
  names: ServiceNames;
  /** gRPC targets that reach every live instance, e.g. `zk:///whaleshark.domain`. */
  targets: { domain: string; store: string };
  /** Registers a started role under its service name(s). */
  register(handle: RoleHandle): Promise<void>;
  /** Deregisters a role before it stops, so callers move away first. */
  deregister(handle: RoleHandle): Promise<void>;
}

/**
 * Picks the discovery adapter by `discovery.kind` and installs the matching
 * grpc-js resolver, so clients dial `<scheme>:///<service>` and balance over
 * the live instances. `static` in the embedded profile is an in-process
 * registry the roles fill themselves; in the distributed profile it is seeded
 * with `discovery.domain` / `discovery.store`.
 */
export async function createDiscovery(config: Config, logger: Logger): Promise<ProcessDiscovery> {
  const d = config.discovery;
  const log = logger.child({ component: "discovery" });
  let discovery: Discovery;
  // ZooKeeper's and Consul's clients are imported only where they are used (start-up time).
  if (d.kind === "zookeeper") {
    const { ZookeeperDiscovery } = await import("../lib/adapters/zookeeper/index.js");
    discovery = await ZookeeperDiscovery.connect({
      connect: d.zookeeperConnect,
      root: d.zookeeperRoot,
      sessionTimeoutMs: d.zookeeperSessionTimeoutMs,
      logger: log,
    });
  } else if (d.kind === "consul") {
    const { ConsulDiscovery } = await import("../lib/adapters/consul/index.js");
    discovery = new ConsulDiscovery({
      url: d.consulUrl,
      checkTtlMs: d.consulCheckTtlMs,
      deregisterAfterMs: d.consulDeregisterAfterMs,
      logger: log,
    });
  } else {
    discovery = new StaticDiscovery(new StaticRegistry(config.profile === "embedded" ? [] : staticSeed(d)));
  }
  registerDiscoveryResolver(DISCOVERY_SCHEMES[d.kind], discovery);
  const names = serviceNames(d.servicePrefix);
  const instancesOf = (handle: RoleHandle) => {
    const port = Number(handle.grpcAddress.slice(handle.grpcAddress.lastIndexOf(":") + 1));
    if (handle.role === "gateway") {
      if (!handle.endpoints) return [];
      return gatewayInstances(
        {
          nodeId: config.nodeId,
          host: advertiseHost(d.advertiseHost, config.gateway.host),
          tcpPort: handle.endpoints.tcpPort,
          wsPort: handle.endpoints.wsPort,
          wsPath: config.gateway.wsPath,
        },
        names,
      );
    }
    const bind = handle.role === "domain" ? config.domain.host : config.store.host;
    return [
      {
        service: names[handle.role],
        id: config.nodeId,
        host: advertiseHost(d.advertiseHost, bind),
        port,
        meta: {},
      },
    ];
  };
  return {
    discovery,
    names,
    targets: { domain: discoveryTarget(d.kind, names.domain), store: discoveryTarget(d.kind, names.store) },
    async register(handle) {
      for (const instance of instancesOf(handle)) await discovery.register(instance);
    },
    async deregister(handle) {
      for (const instance of instancesOf(handle)) await discovery.deregister(instance.service, instance.id);
    },
  };
}
