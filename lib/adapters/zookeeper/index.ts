/** Public surface of the ZooKeeper discovery adapter. */
export { ZookeeperDiscovery, type ZookeeperDiscoveryOptions } from "./discovery.js";
