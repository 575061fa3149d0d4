import {
  type Discovery,
  type InstancesListener,
  instancesKey,
  normalizeInstances,
  type ServiceInstance,
  type Unwatch,
  validateInstance,
  validateServiceName,
} from "../../ports/discovery.js";

/**
 * The registry behind {@link StaticDiscovery} handles: fixed instances from configuration plus
 * whatever live handles registered. One per process in the embedded profile, where every role
 * shares it; tests give several handles one registry to play several processes.
 */
export class StaticRegistry {
  /** service → id → instance (seeded ones have no owner). */
  private readonly services = new Map<string, Map<string, { instance: ServiceInstance; owner?: object }>>();
  private readonly watchers = new Map<string, Set<() => void>>();

  /** @param seed fixed instances (e.g. `discovery.domain` / `discovery.store`); never removed */
  constructor(seed: readonly ServiceInstance[] = []) {
    for (const instance of seed) {
      validateInstance(instance);
      this.byService(instance.service).set(instance.id, { instance });
    }
  }

  /** Current instances of a service, sorted by id. */
  list(service: string): ServiceInstance[] {
    return normalizeInstances([...(this.services.get(service)?.values() ?? [])].map((e) => e.instance));
  }

  /** @internal Adds or replaces an instance on behalf of `owner`. */
  put(instance: ServiceInstance, owner: object): void {
    const entries = this.byService(instance.service);
    const existing = entries.get(instance.id);
    if (existing !== undefined && existing.owner === undefined) {
      throw new Error(`discovery: ${instance.service}/${instance.id} is fixed by configuration`);
    }
    entries.set(instance.id, { instance: { ...instance, meta: { ...instance.meta } }, owner });
    this.notify(instance.service);
  }

  /** @internal Removes an instance if `owner` added it. */
  remove(service: string, id: string, owner: object): void {
    const entries = this.services.get(service);
    if (entries?.get(id)?.owner !== owner) return;
    entries.delete(id);
    this.notify(service);
  }

  /** @internal Calls `onChange` after every change of `service`; returns the unsubscribe. */
  subscribe(service: string, onChange: () => void): () => void {
    let set = this.watchers.get(service);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(service, set);
    }
    set.add(onChange);
    return () => set.delete(onChange);
  }

  private byService(service: string): Map<string, { instance: ServiceInstance; owner?: object }> {
    let entries = this.services.get(service);
    if (entries === undefined) {
      entries = new Map();
      this.services.set(service, entries);
    }
    return entries;
  }

  private notify(service: string): void {
    for (const onChange of this.watchers.get(service) ?? []) onChange();
  }
}

/**
 * Discovery without a registry server, for the embedded profile (every role in one process) and
 * for configurations that name their domain and store addresses outright. Instances registered
 * through a handle are visible to every handle of the same {@link StaticRegistry} and vanish on
 * `deregister` or `close`; fixed instances from configuration are always listed. Listeners run on
 * a later microtask, never inside `register` or `watch`.
 */
export class StaticDiscovery implements Discovery {
  private readonly mine = new Map<string, ServiceInstance>();
  private readonly unwatchers = new Set<Unwatch>();
  private closed = false;

  /** @param registry shared with the other handles of this "cluster" (default: a private one) */
  constructor(readonly registry: StaticRegistry = new StaticRegistry()) {}

  async register(instance: ServiceInstance): Promise<void> {
    this.assertOpen();
    validateInstance(instance);
    this.registry.put(instance, this);
    this.mine.set(`${instance.service}/${instance.id}`, instance);
  }

  async deregister(service: string, id: string): Promise<void> {
    this.assertOpen();
    this.mine.delete(`${service}/${id}`);
    this.registry.remove(service, id, this);
  }

  watch(service: string, listener: InstancesListener): Unwatch {
    this.assertOpen();
    validateServiceName(service);
    let last: string | undefined;
    let active = true;
    let scheduled = false;
    const deliver = () => {
      scheduled = false;
      if (!active) return;
      const list = this.registry.list(service);
      const key = instancesKey(list);
      if (key === last) return;
      last = key;
      listener(list);
    };
    // Coalesce bursts (several registrations in one tick) into one delivery of the final list.
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(deliver);
    };
    const unsubscribe = this.registry.subscribe(service, schedule);
    schedule();
    const unwatch = () => {
      active = false;
      unsubscribe();
      this.unwatchers.delete(unwatch);
    };
    this.unwatchers.add(unwatch);
    return unwatch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const instance of this.mine.values()) this.registry.remove(instance.service, instance.id, this);
    this.mine.clear();
    for (const unwatch of [...this.unwatchers]) unwatch();
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("discovery: closed");
  }
}
