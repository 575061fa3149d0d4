import { Counter, Histogram, type Registry } from "prom-client";

/**
 * Prometheus series of the HTTP API, one set per server (labelled by the registry's role and node).
 * `route` is the matched path (a bounded set: the contracts' paths) or `unmatched`; `code` the
 * business code answered (200, 20001, 60004, …; 0 when no handler ran: CORS refusal, 404, 413).
 */
export class HttpMetrics {
  readonly requests: Counter<"route" | "status" | "code">;
  readonly duration: Histogram<"route">;

  constructor(registry: Registry | undefined) {
    const registers = registry === undefined ? [] : [registry];
    this.requests = new Counter({
      name: "whaleshark_http_requests_total",
      help: "HTTP API requests by route, HTTP status and business code",
      labelNames: ["route", "status", "code"],
      registers,
    });
    this.duration = new Histogram({
      name: "whaleshark_http_request_duration_seconds",
      help: "HTTP API request time from the request's arrival to the end of its answer",
      labelNames: ["route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** Records one answered request. */
  observe(route: string, status: number, code: number, seconds: number): void {
    this.requests.inc({ route, status: String(status), code: String(code) });
    this.duration.observe({ route }, seconds);
  }
}
