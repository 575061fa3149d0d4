/**
 * The discovery port: which processes of a service are alive, and where (docs/architecture.md §3). Roles
 * register themselves at start-up and deregister on shutdown; the gRPC name resolvers
 * (`zk:///`, `consul:///`) and the gateway routing call (spec §4.6) watch it.
 *
 * Semantics every adapter keeps (checked by `discovery.contract.ts`):
 * - An instance is `{ service, id, host, port, meta }`; `(service, id)` names it. Registering the
 *   same `(service, id)` again replaces it (new address or meta); it is never listed twice.
 * - Registration is tied to the health of the registering process, never persistent (the
 *   original's PERSISTENT znodes kept dead gateways routable forever: D25):
 *   - ZooKeeper: an EPHEMERAL znode `<root>/services/<service>/<id>` holding the instance as JSON.
 *     A process that dies without deregistering disappears when the server expires its session,
 *     i.e. within `zookeeperSessionTimeoutMs` (as negotiated by the server: 2 to 20 ticks).
 *   - Consul: an agent service with a TTL check that a timer passes every TTL/3. A dead process
 *     leaves the passing set within the TTL, and the agent removes it after
 *     `consulDeregisterAfterMs`.
 *   - Static: an in-process registry; its instances live as long as the handle that added them.
 * - Losing the registry is survived, not reported: after a ZooKeeper session expiry the adapter
 *   opens a new session, registers every live instance again and re-arms its watches; when a
 *   Consul agent forgot a service (agent restart), the next TTL pass fails and the adapter
 *   registers it again. In between, watchers keep the last list they were given.
 * - `watch` calls the listener with the full list of live instances, sorted by id: once with the
 *   current list (possibly empty, never synchronously inside `watch`), then after every change.
 *   A list equal to the previous one is not delivered again. Changes are observed, not polled:
 *   a new or removed instance reaches watchers within about a second on every adapter.
 * - `deregister` and `close` remove instances at once (not after a timeout). `close` deregisters
 *   everything this handle registered, ends its watches and releases connections; other calls
 *   reject afterwards.
 * Deliberately absent: health states other than alive/gone, tags, key-value storage, leader
 * election (the roles need none of them).
 */
export interface Discovery {
  /** Adds or replaces the instance; resolves once it is visible to watchers. */
  register(instance: ServiceInstance): Promise<void>;
  /** Removes an instance this handle registered; unknown ids resolve without error. */
  deregister(service: string, id: string): Promise<void>;
  /** Follows the live instances of `service`; the returned function stops the watch. */
  watch(service: string, listener: InstancesListener): Unwatch;
  /** Deregisters this handle's instances, ends its watches, releases connections. */
  close(): Promise<void>;
}

/** One live process of a service. */
export interface ServiceInstance {
  /** Service name, e.g. `whaleshark.domain` (letters, digits, `.`, `_`, `-`). */
  service: string;
  /** Unique within the service, e.g. the process's nodeId (same alphabet as `service`). */
  id: string;
  /** Address other processes (or clients, for gateway endpoints) connect to; never 0.0.0.0. */
  host: string;
  port: number;
  /** Small string attributes, e.g. `{ nodeId: "gateway-1" }` on gateway endpoints. */
  meta: Readonly<Record<string, string>>;
}

/** Receives the complete list of live instances of one service, sorted by id. */
export type InstancesListener = (instances: readonly ServiceInstance[]) => void;

/** Stops a watch; calling it again does nothing. */
export type Unwatch = () => void;

const NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** Letters, digits, `.`, `_`, `-`, but not `.` or `..` alone (both end up in paths and URLs). */
function isName(value: string): boolean {
  return NAME.test(value) && value !== "." && value !== "..";
}

/**
 * Checks an instance before an adapter stores it, so every backend accepts and rejects the same
 * things (names end up in znode paths and Consul URLs).
 * @throws Error naming the bad field
 */
export function validateInstance(instance: ServiceInstance): void {
  validateServiceName(instance.service);
  if (!isName(instance.id)) throw new Error(`discovery: bad instance id ${JSON.stringify(instance.id)}`);
  if (
    instance.host === "" ||
    /\s/.test(instance.host) ||
    instance.host === "0.0.0.0" ||
    instance.host === "::"
  ) {
    throw new Error(
      `discovery: instance host must be a reachable address, got ${JSON.stringify(instance.host)}`,
    );
  }
  if (!Number.isInteger(instance.port) || instance.port < 1 || instance.port > 65535) {
    throw new Error(`discovery: bad port ${instance.port}`);
  }
}

/** Validates a service name alone (for `watch`). */
export function validateServiceName(service: string): void {
  if (!isName(service)) throw new Error(`discovery: bad service name ${JSON.stringify(service)}`);
}

/** Sorted by id with a plain copy of meta: the list shape every adapter delivers. */
export function normalizeInstances(instances: Iterable<ServiceInstance>): ServiceInstance[] {
  return [...instances]
    .map((i) => ({ service: i.service, id: i.id, host: i.host, port: i.port, meta: { ...i.meta } }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Identity of a list for "deliver only changes": same ids, addresses and meta in the same order. */
export function instancesKey(instances: readonly ServiceInstance[]): string {
  return JSON.stringify(
    instances.map((i) => [i.id, i.host, i.port, Object.entries(i.meta).sort(([a], [b]) => (a < b ? -1 : 1))]),
  );
}
