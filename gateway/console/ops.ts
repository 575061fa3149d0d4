import type { MetricValue, Registry } from "prom-client";

/** GET /console/ops.json (docs: /work/notes/console-interface.md, README "Web console"). */
export interface OpsSnapshot {
  /** Open client connections of this gateway (TCP and WebSocket). */
  connections: number;
  /** Client sends (P2P 1103 and group 2104 frames) per second through this gateway, recently. */
  messagesPerSecond: number;
  /** Delivery lag quantiles over the recent window; null where the process has no such histogram. */
  deliveryLagMs: { p50: number; p99: number } | null;
  /** When this was computed (epoch ms). */
  at: number;
}

/** Names of the series read (gateway/gateway-metrics.ts). */
export const OPS_SERIES = {
  connections: "whaleshark_gateway_connections",
  framesIn: "whaleshark_gateway_frames_in_total",
  deliveryLag: "whaleshark_gateway_delivery_lag_seconds",
} as const;

/** Client commands that are messages: P2P send (1103) and group send (2104). */
const MESSAGE_COMMANDS = new Set(["1103", "2104"]);

/** The rate is computed over at least this long, so two pages polling at once do not make noise. */
const MIN_WINDOW_MS = 1000;

/**
 * Computes the ops view from this process's own Prometheus registry, as a scraper would see it:
 * a rate is a counter's delta between two reads divided by the time between them, the reads kept
 * here (server-side), so every console polling every 2 s sees the same figures.
 */
export class OpsSampler {
  #last: { at: number; messages: number; lagBuckets: Map<number, number> } | undefined;
  #rate = 0;
  #lag: OpsSnapshot["deliveryLagMs"] = null;

  constructor(
    private readonly registry: Registry,
    private readonly now: () => number = Date.now,
  ) {}

  async read(): Promise<OpsSnapshot> {
    const at = this.now();
    const connections = sum(await this.#values(OPS_SERIES.connections));
    const messages = sum(
      (await this.#values(OPS_SERIES.framesIn)).filter((v) => MESSAGE_COMMANDS.has(String(v.labels.command))),
    );
    const lagBuckets = buckets(await this.#values(OPS_SERIES.deliveryLag));
    const last = this.#last;
    if (last === undefined) {
      this.#last = { at, messages, lagBuckets };
      this.#lag = (lagBuckets.get(Number.POSITIVE_INFINITY) ?? 0) > 0 ? quantiles(lagBuckets) : null;
    } else if (at - last.at >= MIN_WINDOW_MS) {
      this.#rate = Math.max(0, ((messages - last.messages) * 1000) / (at - last.at));
      const window = new Map([...lagBuckets].map(([le, n]) => [le, n - (last.lagBuckets.get(le) ?? 0)]));
      // No delivery in the window: keep the last figures rather than flicker to null.
      if (lagBuckets.size === 0) this.#lag = null;
      else if ((window.get(Number.POSITIVE_INFINITY) ?? 0) > 0) this.#lag = quantiles(window);
      this.#last = { at, messages, lagBuckets };
    }
    return { connections, messagesPerSecond: round(this.#rate), deliveryLagMs: this.#lag, at };
  }

  async #values(name: string): Promise<MetricValue<string>[]> {
    const metric = this.registry.getSingleMetric(name);
    if (metric === undefined) return [];
    return (await metric.get()).values;
  }
}

function sum(values: readonly MetricValue<string>[]): number {
  return values.reduce((total, v) => total + v.value, 0);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Cumulative counts by upper bound (`le`, seconds) of a histogram's buckets, all label sets summed. */
function buckets(values: readonly MetricValue<string>[]): Map<number, number> {
  const byLe = new Map<number, number>();
  for (const v of values) {
    const name = (v as { metricName?: string }).metricName;
    if (name !== undefined && !name.endsWith("_bucket")) continue;
    const le = v.labels.le;
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + v.value);
  }
  return byLe;
}

/**
 * p50 and p99 in ms from cumulative buckets, by linear interpolation inside the bucket that holds
 * the rank (Prometheus's histogram_quantile); a rank in the +Inf bucket reports the last finite bound.
 */
export function quantiles(cumulative: ReadonlyMap<number, number>): { p50: number; p99: number } {
  const sorted = [...cumulative].sort(([a], [b]) => a - b);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  const at = (q: number): number => {
    if (total <= 0) return 0;
    const rank = q * total;
    let lowerBound = 0;
    let lowerCount = 0;
    for (const [le, count] of sorted) {
      if (count >= rank) {
        if (!Number.isFinite(le)) return lowerBound * 1000;
        const inBucket = count - lowerCount;
        const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
        return (lowerBound + (le - lowerBound) * fraction) * 1000;
      }
      lowerBound = Number.isFinite(le) ? le : lowerBound;
      lowerCount = count;
    }
    return lowerBound * 1000;
  };
  return { p50: round(at(0.5)), p99: round(at(0.99)) };
}
