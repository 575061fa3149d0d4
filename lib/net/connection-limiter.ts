import { isIPv6, type Server, type Socket } from "node:net";

/** Why a connection was refused at accept. */
export type LimitRefusal = "ip-limit" | "total-limit";

/** The two caps of one listener (or of several listeners sharing one budget). */
export interface ConnectionLimits {
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections from one client address (an IPv6 client: from its /64). */
  maxConnectionsPerIp: number;
}

/**
 * The bucket one peer address is counted in: the address itself, except for IPv6 where a single
 * host usually holds a whole /64 and could otherwise open `maxConnectionsPerIp` connections from
 * each of 2^64 addresses. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) stays the IPv4 address it is.
 */
export function limiterKey(ip: string): string {
  if (!isIPv6(ip) || ip.toLowerCase().startsWith("::ffff:")) return ip;
  const [head = "", tail = ""] = ip.toLowerCase().split("%")[0]?.split("::") ?? [];
  const front = head === "" ? [] : head.split(":");
  const back = tail === "" ? [] : tail.split(":");
  const groups = ip.includes("::")
    ? [...front, ...Array(8 - front.length - back.length).fill("0"), ...back]
    : front;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * Open connections per client address and in total, for listeners that must stay up under a
 * flood (docs/architecture.md §6): a connection is counted from the moment the kernel hands it over (before
 * any protocol work, so sockets still in a WebSocket or HTTP/2 handshake count), until its socket
 * closes. One limiter may be shared by several listeners (the gateway's TCP and WebSocket ports
 * share one budget).
 */
export class ConnectionLimiter {
  readonly #open = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: ConnectionLimits) {}

  /** Counts one more connection from `ip`; the refusal (and nothing counted) when a cap is reached. */
  tryAcquire(ip: string): LimitRefusal | undefined {
    if (this.#total >= this.limits.maxConnections) return "total-limit";
    const key = limiterKey(ip);
    const n = this.#open.get(key) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) return "ip-limit";
    this.#open.set(key, n + 1);
    this.#total += 1;
    return undefined;
  }

  /** Releases one connection of `ip`; call exactly once per successful tryAcquire. */
  release(ip: string): void {
    const key = limiterKey(ip);
    const n = this.#open.get(key) ?? 0;
    if (n === 0) return;
    if (n === 1) this.#open.delete(key);
    else this.#open.set(key, n - 1);
    this.#total -= 1;
  }

  /** Connections currently counted for `ip` (its /64 for IPv6). */
  count(ip: string): number {
    return this.#open.get(limiterKey(ip)) ?? 0;
  }

  /** Connections currently counted in all. */
  get total(): number {
    return this.#total;
  }

  /**
   * Admits `socket` (counted until it closes) or refuses it: the caller answers or destroys a
   * refused socket. Returns the refusal, undefined when admitted.
   */
  admit(socket: Socket): LimitRefusal | undefined {
    const ip = socket.remoteAddress ?? "unknown";
    const refusal = this.tryAcquire(ip);
    if (refusal === undefined) socket.once("close", () => this.release(ip));
    return refusal;
  }
}

/** `ip:port` of a socket's peer (`[v6]:port` for IPv6), for log lines. */
export function peerOf(socket: Pick<Socket, "remoteAddress" | "remotePort">): string {
  const ip = socket.remoteAddress ?? "unknown";
  return isIPv6(ip) ? `[${ip}]:${socket.remotePort ?? 0}` : `${ip}:${socket.remotePort ?? 0}`;
}

/**
 * Puts `limiter` in front of a server's own connection handling (an `http.Server`'s parser
 * set-up, a `net.Server`'s connection callback): the listeners registered on `connection` so far
 * run only for admitted sockets; a refused socket goes to `refuse` instead, which must end it.
 * Call it once the server's handlers are in place and before it listens.
 */
export function limitConnections(
  server: Server,
  limiter: ConnectionLimiter,
  refuse: (socket: Socket, reason: LimitRefusal) => void,
): void {
  const listeners = server.listeners("connection") as Array<(socket: Socket) => void>;
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    const refusal = limiter.admit(socket);
    if (refusal !== undefined) {
      refuse(socket, refusal);
      return;
    }
    for (const listener of listeners) listener.call(server, socket);
  });
}

/** How often a listener warns that it refuses connections (each refusal is also logged at debug). */
export const REFUSAL_WARN_INTERVAL_MS = 10_000;

/**
 * Logs refused connections (a cap, a wrong path, a refused Origin) without letting a flood flood
 * the log: at most one warning per {@link REFUSAL_WARN_INTERVAL_MS} per listener, carrying the
 * address and reason of the refusal that triggered it and how many were refused since the previous
 * warning (`refused`); the others at debug. Every line names the peer (`remote`, ip:port).
 */
export class RefusalLog {
  #lastWarnMs = Number.NEGATIVE_INFINITY;
  #since = 0;

  constructor(
    private readonly logger: { debug(o: object, msg: string): void; warn(o: object, msg: string): void },
    private readonly listener: string,
    private readonly now: () => number = Date.now,
    /** The line's message (other refusals than connections use it too: forwarded calls). */
    private readonly message = "connection refused",
  ) {}

  refused(remote: string, reason: string): void {
    this.#since += 1;
    const bindings = { listener: this.listener, remote, reason };
    const t = this.now();
    if (t - this.#lastWarnMs >= REFUSAL_WARN_INTERVAL_MS) {
      this.logger.warn({ ...bindings, refused: this.#since }, this.message);
      this.#lastWarnMs = t;
      this.#since = 0;
    } else {
      this.logger.debug(bindings, this.message);
    }
  }
}
