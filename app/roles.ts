import type { Config } from "../lib/config/index.js";
import type { RoleDeps, RoleHandle, RoleName } from "../lib/role/role.js";

/**
 * Every role by name; the only place that knows which folder implements which role. Each role's
 * code is imported when it starts, so a process loads only the roles it runs (start-up time:
 * bench/RESULTS.md "start-up").
 */
export const roles: Record<RoleName, (deps: RoleDeps, config: Config) => Promise<RoleHandle>> = {
  gateway: async (deps, config) => (await import("../gateway/start.js")).startGateway(deps, config),
  domain: async (deps, config) => (await import("../services/domain/start.js")).startDomain(deps, config),
  store: async (deps, config) => (await import("../services/store/start.js")).startStore(deps, config),
};

/** Start order: the edge comes up last, so it never accepts work its services cannot take. */
export const startOrder: RoleName[] = ["store", "domain", "gateway"];
