/**
 * Wall-clock milliseconds with sub-millisecond resolution: `performance.timeOrigin + now()`.
 * Latencies that cross processes (a message sent by one load-generator process and received by
 * another) compare these values; on one machine the processes share the wall clock, so the error
 * is the clock's resolution, far below the latencies measured.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `done` every `everyMs` until it answers true or `timeoutMs` passes; resolves with its last
 * answer (false on timeout), never rejects.
 */
export async function waitUntil(done: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= until) return false;
    await sleep(everyMs);
  }
  return true;
}
