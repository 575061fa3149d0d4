import { startGateway } from "../gateway/start.js";
import type { Config } from "../lib/config/index.js";
import type { RoleDeps, RoleHandle, RoleName } from "../lib/role/role.js";
import { startDomain } from "../services/domain/start.js";
import { startStore } from "../services/store/start.js";

/** Every role by name; the only place that knows which folder implements which role. */
export const roles: Record<RoleName, (deps: RoleDeps, config: Config) => Promise<RoleHandle>> = {
  gateway: startGateway,
  domain: startDomain,
  store: startStore,
};

/** Start order: the edge comes up last, so it never accepts work its services cannot take. */
export const startOrder: RoleName[] = ["store", "domain", "gateway"];
