import type Consul from "consul";
import type { Logger } from "pino";
import {
  type InstancesListener,
  instancesKey,
  normalizeInstances,
  type ServiceInstance,
} from "../../ports/discovery.js";

/** One entry of `GET /v1/health/service/<name>` (the fields we read). */
interface HealthEntry {
  Node?: { Address?: string };
  Service?: { ID?: string; Address?: string; Port?: number; Meta?: Record<string, unknown> | null };
}

/**
 * One `watch(service)` on Consul: the client library's blocking-query loop over the passing
 * instances (`health/service/<name>?passing=true&index=<X-Consul-Index>&wait=...`). Consul answers
 * a blocking query whenever its index moves, also for changes elsewhere, so lists are compared
 * and only real changes are delivered. Errors retry with backoff (100 ms doubling to 5 s).
 */
export class ConsulWatch {
  private readonly watch: ReturnType<Consul["watch"]>;
  private last: string | undefined;
  private active = true;

  constructor(
    consul: Consul,
    private readonly service: string,
    private readonly listener: InstancesListener,
    private readonly log: Logger,
    waitMs: number,
  ) {
    this.watch = consul.watch({
      method: consul.health.service,
      options: { service, passing: "true", wait: `${waitMs}ms` },
      backoffFactor: 100,
      backoffMax: 5000,
    });
    this.watch.on("change", (entries: unknown) => this.deliver(entries));
    this.watch.on("error", (err: unknown) => {
      if (this.active) this.log.warn({ err, service }, "consul watch failed; retrying");
    });
  }

  /** Ends the blocking-query loop (the in-flight query is aborted). */
  stop(): void {
    this.active = false;
    this.watch.end();
  }

  private deliver(entries: unknown): void {
    if (!this.active || !Array.isArray(entries)) return;
    const prefix = `${this.service}:`;
    const instances: ServiceInstance[] = [];
    for (const entry of entries as HealthEntry[]) {
      const svc = entry.Service;
      if (svc?.ID === undefined || typeof svc.Port !== "number") continue;
      const meta: Record<string, string> = {};
      for (const [k, v] of Object.entries(svc.Meta ?? {})) if (typeof v === "string") meta[k] = v;
      instances.push({
        service: this.service,
        // Our registrations are `<service>:<id>`; a service registered by other means keeps its id.
        id: svc.ID.startsWith(prefix) ? svc.ID.slice(prefix.length) : svc.ID,
        // Consul's rule: an empty service address means the node's address.
        host: svc.Address || entry.Node?.Address || "",
        port: svc.Port,
        meta,
      });
    }
    const list = normalizeInstances(instances);
    const key = instancesKey(list);
    if (key === this.last) return;
    this.last = key;
    this.listener(list);
  }
}
