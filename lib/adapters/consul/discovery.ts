import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import Consul from "consul";
import type { Logger } from "pino";
import {
  type Discovery,
  type InstancesListener,
  type ServiceInstance,
  type Unwatch,
  validateInstance,
  validateServiceName,
} from "../../ports/discovery.js";
import { ConsulWatch } from "./watch.js";

/** Options of {@link ConsulDiscovery}. */
export interface ConsulDiscoveryOptions {
  /** The agent's HTTP API, e.g. `http://127.0.0.1:8500` (config `discovery.consulUrl`). */
  url: string;
  /** TTL of each instance's check (config `discovery.consulCheckTtlMs`); passed every TTL/3. */
  checkTtlMs: number;
  /** A check critical this long gets its service removed by the agent (`discovery.consulDeregisterAfterMs`). */
  deregisterAfterMs: number;
  logger: Logger;
  /** Longest blocking query of a watch. Default 30 s; a watch still reacts at once to changes. */
  watchWaitMs?: number;
}

/**
 * Discovery on a Consul agent's HTTP API (docs/architecture.md §3). It uses four endpoints: service
 * register / deregister, TTL check pass, and blocking `health/service?passing` queries.
 *
 * - An instance is the agent service `<service>:<id>` (Consul service ids are unique per agent,
 *   not per service) with address, port, meta and one TTL check, registered passing.
 * - A timer passes every check each TTL/3. A process that dies stops passing: its instance leaves
 *   the passing set within the TTL, and the agent deletes it `deregisterAfterMs` later.
 * - When a pass fails (the agent restarted and forgot the service, or the check went critical
 *   during a pause), the instance is registered again on the spot.
 * - Watches are blocking queries on the passing instances: a change reaches watchers as soon as
 *   the agent sees it. While the agent is unreachable they retry with backoff (up to 5 s) and
 *   watchers keep the last list.
 */
export class ConsulDiscovery implements Discovery {
  private readonly consul: Consul;
  private readonly agent: HttpAgent;
  private readonly registered = new Map<string, ServiceInstance>();
  private readonly watches = new Set<ConsulWatch>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: ConsulDiscoveryOptions) {
    const url = new URL(opts.url);
    const secure = url.protocol === "https:";
    // Our own agent, so close() can cut an in-flight blocking query instead of waiting it out.
    this.agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.consul = new Consul({
      host: url.hostname,
      port: Number(url.port || (secure ? 443 : 80)),
      secure,
      agent: this.agent,
    });
    this.log = opts.logger.child({ component: "discovery", kind: "consul" });
    this.heartbeat = setInterval(() => void this.passAll(), Math.max(100, Math.floor(opts.checkTtlMs / 3)));
    this.heartbeat.unref();
  }

  async register(instance: ServiceInstance): Promise<void> {
    this.assertOpen();
    validateInstance(instance);
    const copy = { ...instance, meta: { ...instance.meta } };
    await this.put(copy);
    this.registered.set(consulId(copy.service, copy.id), copy);
  }

  async deregister(service: string, id: string): Promise<void> {
    this.assertOpen();
    const key = consulId(service, id);
    if (!this.registered.delete(key)) return;
    await this.remove(key);
  }

  watch(service: string, listener: InstancesListener): Unwatch {
    this.assertOpen();
    validateServiceName(service);
    const watch = new ConsulWatch(this.consul, service, listener, this.log, this.opts.watchWaitMs ?? 30_000);
    this.watches.add(watch);
    return () => {
      watch.stop();
      this.watches.delete(watch);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
    await Promise.allSettled([...this.registered.keys()].map((key) => this.remove(key)));
    this.registered.clear();
    this.agent.destroy();
  }

  private put(instance: ServiceInstance): Promise<unknown> {
    return this.consul.agent.service.register({
      name: instance.service,
      id: consulId(instance.service, instance.id),
      address: instance.host,
      port: instance.port,
      meta: { ...instance.meta },
      check: {
        name: `${instance.service} ttl`,
        ttl: `${this.opts.checkTtlMs}ms`,
        timeout: `${this.opts.checkTtlMs}ms`,
        // Visible at once: a fresh instance must not wait a TTL before it takes traffic.
        status: "passing",
        deregistercriticalserviceafter: `${this.opts.deregisterAfterMs}ms`,
      },
    });
  }

  private async remove(key: string): Promise<void> {
    try {
      await this.consul.agent.service.deregister(key);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err; // already gone
    }
  }

  /** One heartbeat: pass each check; register again what the agent no longer knows. */
  private async passAll(): Promise<void> {
    await Promise.all(
      [...this.registered.entries()].map(async ([key, instance]) => {
        try {
          await this.consul.agent.check.pass({ id: `service:${key}` });
        } catch (err) {
          if (this.closed || !this.registered.has(key)) return;
          this.log.warn(
            { err, service: instance.service, id: instance.id },
            "consul check pass failed; registering again",
          );
          await this.put(instance).catch((e: unknown) =>
            this.log.error(
              { err: e, service: instance.service, id: instance.id },
              "consul registration failed",
            ),
          );
        }
      }),
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("discovery: closed");
  }
}

/** The agent-wide service id of an instance; `:` cannot occur in names, so it splits back cleanly. */
export function consulId(service: string, id: string): string {
  return `${service}:${id}`;
}
