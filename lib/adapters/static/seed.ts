import type { Config } from "../../config/index.js";
import type { ServiceInstance } from "../../ports/discovery.js";
import { serviceNames } from "../../routing/service-names.js";

/**
 * The fixed instances of a static configuration: the domain at `discovery.domain` and the store
 * at `discovery.store`, each with id `static` under its service name. They are what a process
 * resolves when no registry runs (a gateway on one machine and a domain on another, named by
 * address); processes started in the same process register themselves on top.
 */
export function staticSeed(discovery: Config["discovery"]): ServiceInstance[] {
  const names = serviceNames(discovery.servicePrefix);
  return [fixed(names.domain, discovery.domain), fixed(names.store, discovery.store)];
}

function fixed(service: string, hostPort: string): ServiceInstance {
  const colon = hostPort.lastIndexOf(":");
  return {
    service,
    id: "static",
    host: hostPort.slice(0, colon),
    port: Number(hostPort.slice(colon + 1)),
    meta: {},
  };
}
