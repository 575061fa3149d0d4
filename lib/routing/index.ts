/** Public surface of gateway routing (spec §4.6) and the discovery service names. */
export { advertiseHost } from "./advertise-host.js";
export { ConsistentHashRing, routeHash, VIRTUAL_NODES } from "./consistent-hash.js";
export { GatewayDirectory } from "./gateway-directory.js";
export { type GatewayIdentity, gatewayInstances } from "./gateway-registration.js";
export {
  endpointName,
  type GatewayEndpoint,
  GatewayRouter,
  type GatewayTransport,
  type RouteModel,
  RouteModels,
} from "./gateway-router.js";
export { type ServiceNames, serviceNames } from "./service-names.js";
