import type { Logger } from "pino";
import {
  type InstancesListener,
  instancesKey,
  normalizeInstances,
  type ServiceInstance,
} from "../../ports/discovery.js";
import { exists, getChildren, getData, isNoNode, type ZkClient, type ZkWatcher } from "./client.js";

/** One listener of a shared watch, with the last list it was given ("deliver only changes"). */
interface Subscriber {
  readonly listener: InstancesListener;
  last: string | undefined;
  active: boolean;
}

/**
 * The one ZooKeeper watch of a service in this process, shared by every `watch(service)` of the
 * discovery handle (many gRPC channels resolve the same `zk:///` service; one ZooKeeper watch per
 * channel made the client library warn "MaxListenersExceeded" and multiplied the reads).
 * ZooKeeper watches fire once, so every read re-arms them: a children watch on the service node
 * (instances coming and going), a data watch on each instance node (an instance registered again
 * with a new address), and an existence watch while the service node does not exist yet. All of
 * them use `onEvent`, one function per service for the handle's lifetime, which the client
 * library keeps only once per path: neither re-arming nor watching again after a stop piles up
 * listeners.
 * Reads never overlap: an event during a read schedules one more read after it. Each read's list
 * is fanned out to every subscriber that has not seen it yet, each getting its own copy.
 */
export class ZookeeperWatch {
  private active = true;
  private reading = false;
  private again = false;
  private current: ServiceInstance[] | undefined;
  private currentKey: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly service: string,
    private readonly dir: string,
    private readonly onEvent: ZkWatcher,
    private readonly log: Logger,
    private readonly client: () => ZkClient,
  ) {}

  /** True once every subscriber left: the owner stops the watch and forgets it. */
  get idle(): boolean {
    return this.subscribers.size === 0;
  }

  /**
   * Adds a listener. It gets the current list asynchronously (the port never calls a listener
   * inside `watch`): at once when a read already produced one, else when the first read ends.
   * @returns removes this listener only; calling it again does nothing
   */
  subscribe(listener: InstancesListener): () => void {
    const sub: Subscriber = { listener, last: undefined, active: true };
    this.subscribers.add(sub);
    if (this.current !== undefined) setImmediate(() => this.offer(sub));
    return () => {
      sub.active = false;
      this.subscribers.delete(sub);
    };
  }

  /** Reads the service again (and re-arms); called on events and after a session renewal. */
  refresh(): void {
    if (!this.active) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.read().finally(() => {
      this.reading = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
  }

  /** Ends the watch; pending ZooKeeper watches fire into a read of nothing (or of its successor). */
  stop(): void {
    this.active = false;
    clearTimeout(this.retryTimer);
    for (const sub of this.subscribers) sub.active = false;
    this.subscribers.clear();
  }

  private async read(): Promise<void> {
    const client = this.client();
    try {
      let children: string[];
      try {
        children = await getChildren(client, this.dir, this.onEvent);
      } catch (err) {
        if (!isNoNode(err)) throw err;
        // No instance ever registered: wait for the service node to appear.
        if ((await exists(client, this.dir, this.onEvent)) !== null) this.again = true;
        else this.deliver([]);
        return;
      }
      const found = await Promise.all(children.map((id) => this.readInstance(client, id)));
      this.deliver(found.filter((i): i is ServiceInstance => i !== undefined));
    } catch (err) {
      // Connection loss or a session being replaced: keep the last list and read again soon.
      if (!this.active) return;
      this.log.warn({ err, service: this.service }, "zookeeper watch read failed; retrying");
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.refresh(), 1000);
    }
  }

  private async readInstance(client: ZkClient, id: string): Promise<ServiceInstance | undefined> {
    let data: Buffer | null;
    try {
      data = await getData(client, `${this.dir}/${id}`, this.onEvent);
    } catch (err) {
      if (isNoNode(err)) return undefined; // left between the two reads
      throw err;
    }
    try {
      const parsed = JSON.parse(data?.toString("utf8") ?? "") as {
        host?: unknown;
        port?: unknown;
        meta?: unknown;
      };
      if (typeof parsed.host !== "string" || typeof parsed.port !== "number") throw new Error("no host/port");
      const meta: Record<string, string> = {};
      if (typeof parsed.meta === "object" && parsed.meta !== null) {
        for (const [k, v] of Object.entries(parsed.meta)) if (typeof v === "string") meta[k] = v;
      }
      return { service: this.service, id, host: parsed.host, port: parsed.port, meta };
    } catch (err) {
      this.log.warn({ err, service: this.service, id }, "ignoring an instance node with unreadable data");
      return undefined;
    }
  }

  private deliver(instances: ServiceInstance[]): void {
    if (!this.active) return;
    const list = normalizeInstances(instances);
    const key = instancesKey(list);
    if (key === this.currentKey) return;
    this.current = list;
    this.currentKey = key;
    for (const sub of [...this.subscribers]) this.offer(sub);
  }

  /** Gives `sub` the current list unless it already has it; a throwing listener harms no other. */
  private offer(sub: Subscriber): void {
    if (!sub.active || this.current === undefined || sub.last === this.currentKey) return;
    sub.last = this.currentKey;
    try {
      sub.listener(normalizeInstances(this.current));
    } catch (err) {
      this.log.error({ err, service: this.service }, "a discovery listener threw");
    }
  }
}
