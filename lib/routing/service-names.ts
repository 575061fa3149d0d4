/** The discovery service names of one deployment (config `discovery.servicePrefix`). */
export interface ServiceNames {
  /** Domain gRPC servers (`zk:///whaleshark.domain`). */
  domain: string;
  /** Store gRPC servers. */
  store: string;
  /** Gateway raw-TCP endpoints that devices connect to (spec §4.6, the original `/im-coreRoot/tcp`). */
  gatewayTcp: string;
  /** Gateway WebSocket endpoints for web clients (the original `/im-coreRoot/web`). */
  gatewayWs: string;
}

/**
 * Service names under a prefix: `<prefix>.domain`, `<prefix>.store`, `<prefix>.gateway.tcp`,
 * `<prefix>.gateway.ws`. The default prefix gives the names the docs and deploy files use; another
 * prefix lets two deployments share one Consul agent.
 */
export function serviceNames(prefix = "whaleshark"): ServiceNames {
  return {
    domain: `${prefix}.domain`,
    store: `${prefix}.store`,
    gatewayTcp: `${prefix}.gateway.tcp`,
    gatewayWs: `${prefix}.gateway.ws`,
  };
}
