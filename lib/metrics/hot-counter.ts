import { Counter, type CounterConfiguration, type LabelValues } from "prom-client";

/** One label set of a {@link HotCounter}: the hot path adds to `n` and does nothing else. */
export interface HotCount {
  n: number;
}

/**
 * A prom-client Counter for series bumped on a per-frame path. `Counter.inc(labels)` validates
 * the label object and builds its hash string on every call, which the gateway's profile showed
 * as several percent of its CPU at tens of thousands of frames per second, while Prometheus reads
 * the value every few seconds. Here each label set is resolved once into a {@link HotCount}
 * (the caller keeps it), the hot path only adds a number to it, and the sums are handed to the
 * Counter when it is collected (its `collect()` runs on every scrape and every `get()`), so what
 * a scrape shows is exact.
 *
 * `counter` is an ordinary Counter: calling its `inc()` directly still works and adds to the same
 * series.
 */
export class HotCounter<T extends string> {
  readonly counter: Counter<T>;
  readonly #counts: Array<{ labels: LabelValues<T>; count: HotCount }> = [];
  readonly #name: string;
  readonly #labelNames: readonly string[];

  constructor(config: Omit<CounterConfiguration<T>, "collect">) {
    this.#name = config.name;
    this.#labelNames = config.labelNames ?? [];
    const counts = this.#counts;
    this.counter = new Counter<T>({
      ...config,
      collect() {
        for (const { labels, count } of counts) {
          if (count.n === 0) continue;
          const n = count.n;
          count.n = 0;
          this.inc(labels, n);
        }
      },
    });
  }

  /**
   * A new count for `labels` (validated now, once). Keep and reuse it: every call adds one more
   * entry that each scrape walks, so callers cache counts by label set (a bounded set).
   */
  count(labels: LabelValues<T>): HotCount {
    // Checked now, where the mistake is made, rather than failing every scrape later.
    for (const name of Object.keys(labels)) {
      if (!this.#labelNames.includes(name)) throw new Error(`${this.#name}: unknown label ${name}`);
    }
    const count = { n: 0 };
    this.#counts.push({ labels, count });
    return count;
  }
}
