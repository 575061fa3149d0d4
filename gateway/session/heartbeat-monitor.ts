import type { LocalRegistry } from "./local-registry.js";

/** A running monitor. */
export interface HeartbeatMonitor {
  stop(): void;
}

/**
 * Closes connections silent for longer than `timeoutMs` (`gateway.heartbeatTimeoutMs`) with
 * `heartbeat-timeout`, on TCP and WebSocket alike (fixes D3: the original never closed a live
 * silent TCP connection and had no check on WebSocket at all). Any frame counts as activity, not
 * only PING 9999. Connections that never logged in fall under the same rule, so an idle
 * unauthenticated socket cannot sit on a slot.
 *
 * One sweep over all connections every `min(timeoutMs / 4, 1 s)` instead of a timer per
 * connection: a few bytes per connection instead of a timer object each, and a close at most a
 * quarter of the timeout late.
 */
export function startHeartbeatMonitor(
  registry: LocalRegistry,
  timeoutMs: number,
  now: () => number = Date.now,
): HeartbeatMonitor {
  const every = Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4)));
  const timer = setInterval(() => {
    const limit = now() - timeoutMs;
    for (const conn of registry.all()) {
      if (conn.state !== "closed" && conn.lastActivityMs < limit) conn.close("heartbeat-timeout");
    }
  }, every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
