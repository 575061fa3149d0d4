/**
 * Open connections per client IP, shared by the TCP and WebSocket listeners
 * (`gateway.maxConnectionsPerIp`, DESIGN §6). Checked at accept, before any per-connection state
 * is allocated, so one address cannot exhaust the gateway.
 */
export class IpLimiter {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(maxPerIp: number) {
    this.#max = maxPerIp;
  }

  /** Counts one more connection from `ip`; false (and nothing counted) when `ip` is at the limit. */
  tryAcquire(ip: string): boolean {
    const n = this.#open.get(ip) ?? 0;
    if (n >= this.#max) return false;
    this.#open.set(ip, n + 1);
    return true;
  }

  /** Releases one connection of `ip`; call exactly once per successful tryAcquire. */
  release(ip: string): void {
    const n = this.#open.get(ip) ?? 0;
    if (n <= 1) this.#open.delete(ip);
    else this.#open.set(ip, n - 1);
  }

  /** Connections currently counted for `ip`. */
  count(ip: string): number {
    return this.#open.get(ip) ?? 0;
  }
}
