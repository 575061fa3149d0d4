import { connect, type Socket } from "node:net";
import { pino } from "pino";
import { Counter } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import {
  createMetricsRegistry,
  type RunningMetricsServer,
  startMetricsServer,
  startRoleMetrics,
} from "./index.js";

const logger = pino({ level: "silent" });
let running: RunningMetricsServer | undefined;

const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await running?.stop();
  running = undefined;
});

/** A raw socket to `port` that sends nothing; resolves once connected. */
async function idleSocket(port: number): Promise<Socket> {
  const s = connect(port, "127.0.0.1");
  s.on("error", () => undefined);
  sockets.push(s);
  await new Promise((r) => s.once("connect", r));
  return s;
}

describe("metrics registry and endpoint", () => {
  it("keeps each registry apart and labels every series with role and node", async () => {
    const a = createMetricsRegistry({ role: "gateway", nodeId: "n1", processMetrics: false });
    const b = createMetricsRegistry({ role: "gateway", nodeId: "n2", processMetrics: false });
    // The same metric name in two registries must not collide (the global default would throw).
    const ca = new Counter({ name: "ws_test_total", help: "t", registers: [a] });
    new Counter({ name: "ws_test_total", help: "t", registers: [b] });
    ca.inc(3);
    expect(await a.metrics()).toContain('ws_test_total{role="gateway",node="n1"} 3');
    expect(await b.metrics()).toContain('ws_test_total{role="gateway",node="n2"} 0');
  });

  it("serves GET /metrics in the Prometheus text format and nothing else", async () => {
    const registry = createMetricsRegistry({ role: "store", nodeId: "n3" });
    new Counter({ name: "ws_scraped_total", help: "t", registers: [registry] }).inc();
    running = await startMetricsServer({ host: "127.0.0.1", port: 0, registry, logger });
    expect(running.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${running.port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('ws_scraped_total{role="store",node="n3"} 1');
    expect(text).toContain("process_cpu_user_seconds_total");
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("binds to loopback by default (metrics.host 127.0.0.1)", async () => {
    const config = loadConfig({ env: {}, cwd: "/", overrides: { metrics: { gatewayPort: 0 } } });
    expect(config.metrics.host).toBe("127.0.0.1");
    const registry = createMetricsRegistry({ role: "gateway", nodeId: "n4", processMetrics: false });
    running = await startRoleMetrics(config, "gateway", registry, logger);
    expect(running?.address).toBe(`127.0.0.1:${running?.port}`);
  });

  it("caps connections per address before any HTTP is read, and frees the slot on close", async () => {
    const registry = createMetricsRegistry({ role: "store", nodeId: "n5", processMetrics: false });
    running = await startMetricsServer({
      host: "127.0.0.1",
      port: 0,
      registry,
      logger,
      maxConnections: 10,
      maxConnectionsPerIp: 2,
    });
    const port = running.port;
    const first = await idleSocket(port);
    await idleSocket(port);
    const third = await idleSocket(port);
    await new Promise((r) => third.once("close", r)); // refused at accept
    first.destroy();
    // The freed slot serves a scrape again.
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.status)
      .toBe(200);
  });
});
