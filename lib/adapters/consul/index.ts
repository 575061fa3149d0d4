/** Public surface of the Consul discovery adapter. */
export { ConsulDiscovery, type ConsulDiscoveryOptions, consulId } from "./discovery.js";
