/** Public surface of the static discovery adapter (embedded profile, fixed addresses). */
export { StaticDiscovery, StaticRegistry } from "./discovery.js";
export { staticSeed } from "./seed.js";
