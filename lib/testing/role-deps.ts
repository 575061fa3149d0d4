import { StaticDiscovery } from "../adapters/static/index.js";
import type { RoleDeps } from "../role/role.js";

/**
 * The discovery part of {@link RoleDeps} for tests that start one role alone:
 * an empty in-process registry and fixed gRPC targets (`host:port`, dialled
 * directly; the default points nowhere, so an unexpected call fails fast).
 */
export function testDiscoveryDeps(
  targets: Partial<RoleDeps["grpcTargets"]> = {},
): Pick<RoleDeps, "discovery" | "grpcTargets"> {
  return {
    discovery: new StaticDiscovery(),
    grpcTargets: { domain: targets.domain ?? "127.0.0.1:1", store: targets.store ?? "127.0.0.1:1" },
  };
}
