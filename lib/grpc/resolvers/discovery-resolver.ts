import * as grpc from "@grpc/grpc-js";
import type { Discovery, ServiceInstance, Unwatch } from "../../ports/discovery.js";

type GrpcUri = grpc.experimental.GrpcUri;
type ResolverListener = grpc.experimental.ResolverListener;
type Endpoint = grpc.experimental.Endpoint;
/** grpc-js's resolver class shape (not exported under a name of its own). */
export type ResolverConstructor = Parameters<typeof grpc.experimental.registerResolver>[1];

/**
 * The service config every discovery target gets: round robin over the live instances (grpc-js
 * would otherwise pick the first address and send everything there).
 */
export const ROUND_ROBIN_SERVICE_CONFIG = { loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] };

/**
 * Registers a grpc-js name resolver for `<scheme>:///<service>` targets backed by `discovery`
 * (docs/architecture.md §3: `zk:///whaleshark.domain`, `consul:///whaleshark.domain`). A channel on such a
 * target follows the service's live instances through `discovery.watch`:
 * - every list the watch delivers becomes the channel's address list at once, so instances
 *   that come and go are used or dropped without a restart;
 * - the resolver supplies a round-robin service config (unless the channel already names a
 *   load-balancing policy through `grpc.service_config`);
 * - an empty list empties the channel: calls fail fast with UNAVAILABLE "... no live instance of
 *   <service>" (or wait, with `waitForReady`) instead of going to a stale address;
 * - a process that dies without deregistering is skipped by round robin as soon as its
 *   connection fails, before the registry notices.
 * Registering a scheme again replaces the previous binding (for channels created afterwards).
 * One discovery handle serves every channel of the scheme; each channel calls `watch()` (the
 * ZooKeeper adapter shares one ZooKeeper watch per service among them).
 */
export function registerDiscoveryResolver(scheme: string, discovery: Discovery): void {
  grpc.experimental.registerResolver(scheme, resolverFor(discovery));
}

/** The grpc-js resolver class bound to one discovery handle. */
export function resolverFor(discovery: Discovery): ResolverConstructor {
  return class DiscoveryResolver implements grpc.experimental.Resolver {
    private readonly service: string;
    private unwatch: Unwatch | undefined;
    private latest: readonly ServiceInstance[] | undefined;
    private readonly ownServiceConfig: boolean;

    constructor(
      target: GrpcUri,
      private readonly listener: ResolverListener,
      options: grpc.ChannelOptions,
    ) {
      this.service = serviceOf(target);
      this.ownServiceConfig = options["grpc.service_config"] === undefined;
    }

    static getDefaultAuthority(target: GrpcUri): string {
      return serviceOf(target);
    }

    updateResolution(): void {
      // The watch pushes every change, so a running watch is already the freshest answer.
      // Re-reporting here would loop: each report resets grpc-js's re-resolution backoff, and a
      // failing subchannel asks for re-resolution again at once.
      if (this.unwatch !== undefined) return;
      this.unwatch = discovery.watch(this.service, (instances) => {
        this.latest = instances;
        this.report();
      });
    }

    destroy(): void {
      this.unwatch?.();
      this.unwatch = undefined;
      this.latest = undefined;
    }

    private report(): void {
      if (this.unwatch === undefined || this.latest === undefined) return;
      const serviceConfig = this.ownServiceConfig
        ? grpc.experimental.statusOrFromValue(ROUND_ROBIN_SERVICE_CONFIG)
        : null;
      const endpoints: Endpoint[] = this.latest.map((i) => ({ addresses: [{ host: i.host, port: i.port }] }));
      this.listener(grpc.experimental.statusOrFromValue(endpoints), {}, serviceConfig, "");
      if (endpoints.length === 0) {
        // The empty list drops the old addresses (an error alone would make grpc-js keep calling
        // them) but leaves round robin IDLE, where calls queue until their deadline. The error
        // that follows turns that into TRANSIENT_FAILURE, so calls fail fast and say why.
        const details = `no live instance of ${this.service}`;
        this.listener(
          grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }),
          {},
          serviceConfig,
          details,
        );
      }
    }
  };
}

/** `zk:///whaleshark.domain` → `whaleshark.domain` (authority, e.g. a Consul datacenter, unused). */
function serviceOf(target: GrpcUri): string {
  const service = target.path.replace(/^\/+/, "");
  if (service === "") throw new Error(`discovery resolver: no service name in ${target.scheme}:///<service>`);
  return service;
}
