import type { Logger } from "pino";
import {
  type InstancesListener,
  instancesKey,
  normalizeInstances,
  type ServiceInstance,
} from "../../ports/discovery.js";
import { exists, getChildren, getData, isNoNode, type ZkClient } from "./client.js";

/**
 * One `watch(service)` on ZooKeeper. ZooKeeper watches fire once, so every read re-arms them: a
 * children watch on the service node (instances coming and going), a data watch on each instance
 * node (an instance registered again with a new address), and an existence watch while the
 * service node does not exist yet. All of them call the same function, which the client library
 * keeps only once per path, so re-arming never piles up listeners.
 * Reads never overlap: an event during a read schedules one more read after it.
 */
export class ZookeeperWatch {
  private active = true;
  private reading = false;
  private again = false;
  private last: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The one watcher function for every path of this watch. */
  private readonly onEvent = () => this.refresh();

  constructor(
    private readonly service: string,
    private readonly dir: string,
    private readonly listener: InstancesListener,
    private readonly log: Logger,
    private readonly client: () => ZkClient,
  ) {}

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

  /** Ends the watch; pending ZooKeeper watches fire into a no-op. */
  stop(): void {
    this.active = false;
    clearTimeout(this.retryTimer);
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
    if (key === this.last) return;
    this.last = key;
    this.listener(list);
  }
}
