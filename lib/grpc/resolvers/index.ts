/** grpc-js name resolvers over the discovery port (`zk:///<service>`, `consul:///<service>`). */
export {
  type ResolverConstructor,
  ROUND_ROBIN_SERVICE_CONFIG,
  registerDiscoveryResolver,
  resolverFor,
} from "./discovery-resolver.js";
export { DISCOVERY_SCHEMES, discoveryTarget } from "./targets.js";
