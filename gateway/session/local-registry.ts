import type { Connection } from "./connection.js";

const userKey = (appId: number, userId: string) => `${appId}\u0000${userId}`;
const deviceKey = (appId: number, userId: string, clientType: number, imei: string) =>
  `${appId}\u0000${userId}\u0000${clientType}\u0000${imei}`;

/** The identity a logged-in connection is bound to (spec §4.2 step 2). */
export interface Binding {
  appId: number;
  userId: string;
  clientType: number;
  imei: string;
}

/**
 * This node's connections, indexed three ways: by connection id (every open connection, logged
 * in or not), by user (appId, userId) and by device (appId, userId, clientType, imei). Purely
 * local and synchronous; the session hash in kv is the cross-node view.
 *
 * Invariant: at most one connection per device. `bind` returns the connection it displaced, which
 * the caller closes (`replaced`, the original's silent close of spec §4.2 step 2).
 */
export class LocalRegistry {
  readonly #byId = new Map<string, Connection>();
  readonly #byUser = new Map<string, Set<Connection>>();
  readonly #byDevice = new Map<string, Connection>();
  readonly #bindings = new Map<Connection, Binding>();

  /** Open connections, logged in or not. */
  get size(): number {
    return this.#byId.size;
  }

  /** Every open connection (a snapshot, safe to close while iterating). */
  all(): Connection[] {
    return [...this.#byId.values()];
  }

  /** Registers a new (not yet logged-in) connection. */
  add(conn: Connection): void {
    this.#byId.set(conn.id, conn);
  }

  /**
   * Binds `conn` to a device; returns the connection previously bound to the same device, if
   * any (already unbound here), so the caller can close it.
   */
  bind(conn: Connection, binding: Binding): Connection | undefined {
    this.#unbind(conn);
    const dKey = deviceKey(binding.appId, binding.userId, binding.clientType, binding.imei);
    const previous = this.#byDevice.get(dKey);
    if (previous !== undefined && previous !== conn) this.#unbind(previous);
    this.#byDevice.set(dKey, conn);
    const uKey = userKey(binding.appId, binding.userId);
    let set = this.#byUser.get(uKey);
    if (set === undefined) {
      set = new Set();
      this.#byUser.set(uKey, set);
    }
    set.add(conn);
    this.#bindings.set(conn, { ...binding });
    return previous === conn ? undefined : previous;
  }

  /** Forgets a connection entirely (on close). */
  remove(conn: Connection): void {
    this.#unbind(conn);
    if (this.#byId.get(conn.id) === conn) this.#byId.delete(conn.id);
  }

  /** The open connection with this id. */
  byId(connectionId: string): Connection | undefined {
    return this.#byId.get(connectionId);
  }

  /** The logged-in connections of a user on this node. */
  ofUser(appId: number, userId: string): Connection[] {
    const set = this.#byUser.get(userKey(appId, userId));
    return set === undefined ? [] : [...set];
  }

  /** The logged-in connection of one device on this node. */
  ofDevice(appId: number, userId: string, clientType: number, imei: string): Connection | undefined {
    return this.#byDevice.get(deviceKey(appId, userId, clientType, imei));
  }

  /** What `conn` is bound to, or undefined when it is not logged in. */
  bindingOf(conn: Connection): Binding | undefined {
    return this.#bindings.get(conn);
  }

  #unbind(conn: Connection): void {
    const b = this.#bindings.get(conn);
    if (b === undefined) return;
    this.#bindings.delete(conn);
    const dKey = deviceKey(b.appId, b.userId, b.clientType, b.imei);
    if (this.#byDevice.get(dKey) === conn) this.#byDevice.delete(dKey);
    const uKey = userKey(b.appId, b.userId);
    const set = this.#byUser.get(uKey);
    set?.delete(conn);
    if (set !== undefined && set.size === 0) this.#byUser.delete(uKey);
  }
}
