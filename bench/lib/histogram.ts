/**
 * A log-linear latency histogram in the spirit of HdrHistogram, dependency-free and mergeable
 * across processes. Values are recorded in microseconds: below 128 µs each microsecond has its own
 * bucket, above that every power of two is split into 64 buckets, so a reported percentile is
 * within 1/64 (1.6 %) of the true value. Count, sum, min and max are exact.
 */

const LINEAR = 128;
const HALF = LINEAR / 2;
/** Enough buckets for values up to 2^40 µs (12 days); larger values land in the last bucket. */
const BUCKETS = LINEAR + 34 * HALF;

/** A histogram in transferable form (IPC, JSON result files): only the non-empty buckets. */
export interface HistogramData {
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  /** [bucket index, count] pairs. */
  buckets: Array<[number, number]>;
}

/** Percentiles in milliseconds, as printed in tables and result files. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

function bucketOf(us: number): number {
  if (us < LINEAR) return us;
  const shift = Math.floor(Math.log2(us)) - 6;
  const index = LINEAR + (shift - 1) * HALF + (Math.floor(us / 2 ** shift) - HALF);
  return Math.min(index, BUCKETS - 1);
}

/** The highest value a bucket holds (its upper bound), in µs. */
function bucketTop(index: number): number {
  if (index < LINEAR) return index;
  const shift = Math.floor((index - LINEAR) / HALF) + 1;
  const sub = ((index - LINEAR) % HALF) + HALF;
  return (sub + 1) * 2 ** shift - 1;
}

/** Records latencies; see the module comment for the precision. */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  /** Number of recorded values. */
  get count(): number {
    return this.#count;
  }

  /** Records one value in milliseconds (fractions kept to the microsecond; negatives count as 0). */
  recordMs(ms: number): void {
    const us = Math.max(0, Math.round(ms * 1000));
    const index = bucketOf(us);
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#count++;
    this.#sum += us;
    if (us < this.#min) this.#min = us;
    if (us > this.#max) this.#max = us;
  }

  /** The value at quantile `q` (0..1) in ms: the top of the bucket holding that rank, capped at max. */
  quantileMs(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(bucketTop(i), this.#max) / 1000;
    }
    return this.#max / 1000;
  }

  /** Adds every value of `other` (a histogram or its transferable form). */
  merge(other: Histogram | HistogramData): void {
    const data = other instanceof Histogram ? other.toData() : other;
    if (data.count === 0) return;
    for (const [index, n] of data.buckets) this.#counts[index] = (this.#counts[index] ?? 0) + n;
    this.#count += data.count;
    this.#sum += data.sumUs;
    this.#min = Math.min(this.#min, data.minUs);
    this.#max = Math.max(this.#max, data.maxUs);
  }

  /** The transferable form. */
  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    this.#counts.forEach((n, i) => {
      if (n > 0) buckets.push([i, n]);
    });
    return {
      count: this.#count,
      sumUs: this.#sum,
      minUs: this.#count === 0 ? 0 : this.#min,
      maxUs: this.#max,
      buckets,
    };
  }

  /** Rebuilds a histogram from its transferable form. */
  static from(data: HistogramData): Histogram {
    const h = new Histogram();
    h.merge(data);
    return h;
  }

  /** Count, mean and the percentiles every table shows, in ms rounded to 0.01. */
  summary(): LatencySummary {
    const r = (ms: number) => Math.round(ms * 100) / 100;
    return {
      count: this.#count,
      meanMs: r(this.#count === 0 ? 0 : this.#sum / this.#count / 1000),
      p50Ms: r(this.quantileMs(0.5)),
      p90Ms: r(this.quantileMs(0.9)),
      p99Ms: r(this.quantileMs(0.99)),
      p999Ms: r(this.quantileMs(0.999)),
      maxMs: r(this.#max / 1000),
    };
  }
}
