/** The target scheme of each discovery kind (config `discovery.kind`). */
export const DISCOVERY_SCHEMES = { zookeeper: "zk", consul: "consul", static: "static" } as const;

/**
 * The gRPC target that reaches `service` through the configured discovery, e.g.
 * `zk:///whaleshark.domain`; the composition root registers the matching resolver
 * (`registerDiscoveryResolver(DISCOVERY_SCHEMES[kind], discovery)`) before creating channels.
 */
export function discoveryTarget(kind: keyof typeof DISCOVERY_SCHEMES, service: string): string {
  return `${DISCOVERY_SCHEMES[kind]}:///${service}`;
}
