import type { Logger } from "pino";
import {
  type Discovery,
  type InstancesListener,
  type ServiceInstance,
  type Unwatch,
  validateInstance,
  validateServiceName,
} from "../../ports/discovery.js";
import {
  closeClient,
  createEphemeral,
  exists,
  isNodeExists,
  isNoNode,
  mkdirp,
  openClient,
  remove,
  retryOnConnectionLoss,
  setData,
  type ZkClient,
  type ZkWatcher,
} from "./client.js";
import { ZookeeperWatch } from "./watch.js";

/** Options of {@link ZookeeperDiscovery.connect}. */
export interface ZookeeperDiscoveryOptions {
  /** Connect string, e.g. `127.0.0.1:2181` (config `discovery.zookeeperConnect`). */
  connect: string;
  /** Root znode, e.g. `/whaleshark` (config `discovery.zookeeperRoot`); tests use a unique one. */
  root: string;
  /** Requested session timeout (config `discovery.zookeeperSessionTimeoutMs`). */
  sessionTimeoutMs: number;
  logger: Logger;
  /** How long `connect` (and each reconnection after an expiry) waits for a session. Default 10 s. */
  connectTimeoutMs?: number;
}

/**
 * Discovery on ZooKeeper (docs/architecture.md §3). Instances are EPHEMERAL znodes
 * `<root>/services/<service>/<id>` holding `{"host","port","meta"}` as JSON, so a process that dies
 * disappears when its session expires (the original registered PERSISTENT nodes under
 * `/im-coreRoot`, which outlived their gateways: D25).
 *
 * - Watches are a re-armed `getChildren` watch on the service node plus a data watch per child,
 *   armed ONCE per service for the whole handle: every `watch(service)` of this handle shares it
 *   and gets the same lists (each with its own "only changes" memory). The last unwatch of a
 *   service stops re-arming it, so ZooKeeper traffic does not grow with the number of watchers.
 * - A lost connection is retried by the client with the same session; watches and ephemeral
 *   nodes survive as long as the session does.
 * - On session expiry (`expired`), a new session is opened (retrying until it succeeds or
 *   `close`), every instance registered through this handle is created again, and every shared
 *   watch re-reads its service.
 * - Registering an id whose znode belongs to another session (this process restarted within the
 *   session timeout, so its old session still holds the node) replaces that node.
 */
export class ZookeeperDiscovery implements Discovery {
  private readonly registered = new Map<string, ServiceInstance>();
  /** The shared watch of each service that has at least one listener. */
  private readonly watches = new Map<string, ZookeeperWatch>();
  /**
   * One ZooKeeper watcher function per service, kept for the handle's lifetime: the client keeps
   * a watcher until its event fires (there is no way to remove it), and keeps the same function
   * only once per path, so a watch/unwatch cycle never leaves a second listener behind. Bounded
   * by the number of distinct services watched.
   */
  private readonly dispatchers = new Map<string, ZkWatcher>();
  private readonly log: Logger;
  private closed = false;

  private constructor(
    private client: ZkClient,
    private readonly opts: ZookeeperDiscoveryOptions,
  ) {
    this.log = opts.logger.child({ component: "discovery", kind: "zookeeper" });
    this.attach(client);
  }

  /** Opens a session with the ensemble. @throws Error when none is established in time */
  static async connect(opts: ZookeeperDiscoveryOptions): Promise<ZookeeperDiscovery> {
    const client = await openClient(opts.connect, {
      sessionTimeoutMs: opts.sessionTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    });
    return new ZookeeperDiscovery(client, opts);
  }

  /** The current session's credentials (diagnostics; tests use them to expire the session). */
  get session(): { id: Buffer; password: Buffer; timeoutMs: number } {
    return {
      id: this.client.getSessionId(),
      password: this.client.getSessionPassword(),
      timeoutMs: this.client.getSessionTimeout(),
    };
  }

  async register(instance: ServiceInstance): Promise<void> {
    this.assertOpen();
    validateInstance(instance);
    const copy = { ...instance, meta: { ...instance.meta } };
    // A connection lost mid-request (a busy server) leaves the session in place: register again
    // (creating the node is idempotent for its own session) rather than fail the process's start.
    await retryOnConnectionLoss(
      () => this.createNode(this.client, copy),
      Math.max(10_000, this.opts.sessionTimeoutMs),
      (err, retry) => this.log.warn({ err, retry }, "zookeeper connection lost while registering; retrying"),
    );
    this.registered.set(`${copy.service}/${copy.id}`, copy);
  }

  async deregister(service: string, id: string): Promise<void> {
    this.assertOpen();
    if (!this.registered.delete(`${service}/${id}`)) return;
    await remove(this.client, this.nodePath(service, id)).catch((err) => {
      if (!isNoNode(err)) throw err;
    });
  }

  watch(service: string, listener: InstancesListener): Unwatch {
    this.assertOpen();
    validateServiceName(service);
    let watch = this.watches.get(service);
    if (watch === undefined) {
      watch = new ZookeeperWatch(
        service,
        `${this.opts.root}/services/${service}`,
        this.dispatcher(service),
        this.log,
        () => this.client,
      );
      this.watches.set(service, watch);
      watch.refresh();
    }
    const shared = watch;
    const unsubscribe = shared.subscribe(listener);
    return () => {
      unsubscribe();
      // The last listener releases the ZooKeeper watch: nothing re-arms it any more.
      if (shared.idle && this.watches.get(service) === shared) {
        shared.stop();
        this.watches.delete(service);
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
    // Deleting first makes the removal immediate for watchers; closing the session would remove
    // the ephemeral nodes too, but only once the server processed the close.
    await Promise.allSettled(
      [...this.registered.values()].map((i) => remove(this.client, this.nodePath(i.service, i.id))),
    );
    this.registered.clear();
    await closeClient(this.client);
  }

  /** The service's watcher function; an event after its last unwatch finds no watch and ends. */
  private dispatcher(service: string): ZkWatcher {
    let dispatch = this.dispatchers.get(service);
    if (dispatch === undefined) {
      dispatch = () => this.watches.get(service)?.refresh();
      this.dispatchers.set(service, dispatch);
    }
    return dispatch;
  }

  private nodePath(service: string, id: string): string {
    return `${this.opts.root}/services/${service}/${id}`;
  }

  private async createNode(client: ZkClient, instance: ServiceInstance): Promise<void> {
    const path = this.nodePath(instance.service, instance.id);
    const data = Buffer.from(
      JSON.stringify({ host: instance.host, port: instance.port, meta: instance.meta }),
    );
    await mkdirp(client, `${this.opts.root}/services/${instance.service}`);
    for (let attempt = 0; ; attempt++) {
      try {
        await createEphemeral(client, path, data);
        return;
      } catch (err) {
        if (!isNodeExists(err) || attempt >= 3) throw err;
      }
      const stat = await exists(client, path);
      if (stat === null) continue; // vanished meanwhile: create again
      if (stat.ephemeralOwner.equals(client.getSessionId())) {
        await setData(client, path, data); // ours: a watcher sees the new data through its data watch
        return;
      }
      this.log.warn(
        { path },
        "replacing an instance node held by another session (restart within the session timeout?)",
      );
      await remove(client, path).catch((e) => {
        if (!isNoNode(e)) throw e;
      });
    }
  }

  private attach(client: ZkClient): void {
    client.on("disconnected", () => {
      if (!this.closed) this.log.warn("zookeeper connection lost; reconnecting with the same session");
    });
    client.on("expired", () => {
      if (client !== this.client || this.closed) return;
      this.log.warn("zookeeper session expired; opening a new session and registering again");
      client.close();
      void this.renew();
    });
  }

  /** After an expiry: a new session, every instance again, every watch re-read. */
  private async renew(): Promise<void> {
    for (let delayMs = 200; !this.closed; delayMs = Math.min(delayMs * 2, 5000)) {
      try {
        const client = await openClient(this.opts.connect, {
          sessionTimeoutMs: this.opts.sessionTimeoutMs,
          connectTimeoutMs: this.opts.connectTimeoutMs ?? 10_000,
        });
        try {
          for (const instance of this.registered.values()) await this.createNode(client, instance);
        } catch (err) {
          await closeClient(client);
          throw err;
        }
        if (this.closed) {
          await closeClient(client);
          return;
        }
        this.client = client;
        this.attach(client);
        for (const watch of this.watches.values()) watch.refresh();
        this.log.info({ instances: this.registered.size }, "zookeeper session renewed");
        return;
      } catch (err) {
        this.log.error({ err, retryInMs: delayMs }, "zookeeper session renewal failed");
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("discovery: closed");
  }
}
