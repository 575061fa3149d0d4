import type { Config } from "../lib/config/index.js";
import type { RoleDeps, RoleHandle, RoleName } from "../lib/role/role.js";

type StartRole = (deps: RoleDeps, config: Config) => Promise<RoleHandle>;

/**
 * Each role's code by name; the only place that knows which folder implements which role. It is
 * imported when asked for, so a process loads only the roles it runs (start-up time:
 * bench/RESULTS.md "start-up").
 */
const modules: Record<RoleName, () => Promise<StartRole>> = {
  gateway: async () => (await import("../gateway/start.js")).startGateway,
  domain: async () => (await import("../services/domain/start.js")).startDomain,
  store: async () => (await import("../services/store/start.js")).startStore,
};

/** Every role by name: imports its code (once) and starts it. */
export const roles: Record<RoleName, StartRole> = {
  gateway: async (deps, config) => (await modules.gateway())(deps, config),
  domain: async (deps, config) => (await modules.domain())(deps, config),
  store: async (deps, config) => (await modules.store())(deps, config),
};

/**
 * Starts importing a role's code without waiting for it, so its loading overlaps the waits for
 * Redis, RabbitMQ and PostgreSQL (`createDeps`). A failure is left to `roles[name]`, which imports
 * the same module again and throws it there.
 */
export function preloadRole(name: RoleName): void {
  modules[name]().catch(() => {});
}

/**
 * The roles that query the database before they listen (the store: its partitions and its
 * consumer), so `createDeps` opens it while it connects the rest. The domain and the gateway open
 * it on first use.
 */
export const OPENS_DATABASE_AT_START: ReadonlySet<RoleName> = new Set(["store"]);

/** Start order: the edge comes up last, so it never accepts work its services cannot take. */
export const startOrder: RoleName[] = ["store", "domain", "gateway"];
