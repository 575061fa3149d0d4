import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { InProcessServices } from "../grpc/in-process.js";
import type { Bus } from "../ports/bus.js";
import type { Database } from "../ports/db.js";
import type { Discovery } from "../ports/discovery.js";
import type { KvStore } from "../ports/kv.js";

/** The three process roles of docs/architecture.md §2. */
export type RoleName = "gateway" | "domain" | "store";

/** A started role; `stop()` drains it (stops accepting, finishes in-flight work). */
export interface RoleHandle {
  role: RoleName;
  /** Where its gRPC server listens, e.g. `127.0.0.1:18000`. */
  grpcAddress: string;
  /** The gateway's end-user listeners (bound ports; tests use port 0). */
  endpoints?: { tcpPort: number; wsPort: number };
  /**
   * The role's Prometheus series when the composition root serves them (the domain's HTTP API
   * metrics; app/embedded.ts withDomainMetrics). Roles that serve their own /metrics leave it out.
   */
  registry?: Registry;
  stop(): Promise<void>;
}

/**
 * What a composition root hands every role. Roles take their adapters from
 * here and never decide which technology backs a port (docs/style.md §1): app/
 * picks memory + PGlite for the embedded profile, Redis + RabbitMQ +
 * PostgreSQL for the distributed one.
 */
export interface RoleDeps {
  logger: Logger;
  kv: KvStore;
  bus: Bus;
  /** The database, opened on first use (the gateway never needs it). */
  db(): Promise<Database>;
  /** Service discovery: where roles register and how they find each other. */
  discovery: Discovery;
  /**
   * gRPC targets of the other roles through discovery (`static:///…`,
   * `zk:///…`, `consul:///…`): dial these, never fixed addresses.
   */
  grpcTargets: { domain: string; store: string };
  /**
   * Set when several roles share this process (`whaleshark start`): servers
   * register their services here and clients call them directly, skipping
   * HTTP/2 over loopback (lib/grpc/in-process.ts).
   */
  inProcess?: InProcessServices;
}
