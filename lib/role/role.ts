import type { Logger } from "pino";

/** The three process roles of DESIGN.md §2. */
export type RoleName = "gateway" | "domain" | "store";

/** A started role; `stop()` drains it (stops accepting, finishes in-flight work). */
export interface RoleHandle {
  role: RoleName;
  /** Where its gRPC server listens, e.g. `127.0.0.1:18000`. */
  grpcAddress: string;
  stop(): Promise<void>;
}

/**
 * What a composition root hands every role. Roles take their adapters from
 * here and never decide which technology backs a port (STYLE.md §1).
 */
export interface RoleDeps {
  logger: Logger;
}
