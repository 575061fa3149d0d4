import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ConnectionLimiter, limitConnections, peerOf, RefusalLog } from "../net/connection-limiter.js";

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port; the bound port is in the result and in the log line. */
  port: number;
  registry: Registry;
  logger: Logger;
  /** Open connections allowed in all (`metrics.maxConnections`, default 64). */
  maxConnections?: number;
  /** Open connections allowed from one address (`metrics.maxConnectionsPerIp`, default 16). */
  maxConnectionsPerIp?: number;
}

/**
 * How long a scrape request may take to arrive (headers and all). Prometheus sends one small GET;
 * anything slower is a socket holding a slot.
 */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;

/** A running `/metrics` endpoint. */
export interface RunningMetricsServer {
  port: number;
  /** `host:port` it listens on. */
  address: string;
  /** Stops listening and closes idle keep-alive sockets; resolves once closed. */
  stop(): Promise<void>;
}

/** Path Prometheus scrapes (its default `metrics_path`). */
export const METRICS_PATH = "/metrics";

/**
 * Serves `registry` in the Prometheus text format on `GET /metrics` (docs/architecture.md §7: metrics on
 * every process). Any other path is 404 and any other method 405, so the port exposes nothing else.
 * A failing collector answers 500 with a fixed text; the error itself goes to the log only.
 *
 * The port holds up against sockets it never asked for: connections are capped in all and per
 * address at accept (refused ones are closed before any HTTP is read), and a request must arrive
 * whole within {@link METRICS_REQUEST_TIMEOUT_MS}. Bind it to loopback (`metrics.host`, the
 * default) unless a scraper elsewhere needs it: it is not authenticated.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const log = options.logger.child({ component: "metrics" });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    try {
      const text = await options.registry.metrics();
      res.writeHead(200, { "content-type": options.registry.contentType });
      res.end(req.method === "HEAD" ? undefined : text);
    } catch (err) {
      log.error({ err }, "metrics collection failed");
      res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
    }
  };
  const server = createServer(
    {
      headersTimeout: METRICS_REQUEST_TIMEOUT_MS,
      requestTimeout: METRICS_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: 1000,
    },
    (req, res) => void handle(req, res),
  );
  const limiter = new ConnectionLimiter({
    maxConnections: options.maxConnections ?? 64,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? 16,
  });
  const refusals = new RefusalLog(log, "metrics");
  limitConnections(server, limiter, (socket, reason) => {
    refusals.refused(peerOf(socket), reason);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(new Error(`metrics: cannot listen on ${options.host}:${options.port}: ${err.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: options.host, port, path: METRICS_PATH }, "metrics endpoint listening");
  return {
    port,
    address: `${options.host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
