/** Exponential backoff with jitter, for reconnects and resends. */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Upper bound of any delay, ms (before jitter). */
  maxMs: number;
  /** Growth per retry (2 doubles the delay). */
  factor: number;
  /**
   * Relative spread, 0..1: the delay is drawn from [d·(1−jitter), d·(1+jitter)], so many clients
   * dropped together by one gateway do not all come back in the same instant. 1 is "full jitter":
   * anywhere in [0, 2d], evenly, the widest spread for the same mean (for retries after an
   * overload, where clients that failed together must not return together).
   */
  jitter: number;
}

/**
 * The delay before retry number `attempt` (0 for the first): `min(maxMs, initialMs·factor^attempt)`
 * spread by `jitter` using `random` (0..1, Math.random by default). Never negative.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}
