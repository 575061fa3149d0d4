import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { GatewayHandle } from "../../gateway/start.js";
import { sessionKey } from "../../lib/sessions/session-record.js";
import { APP_ID, type Infra, login, memoryInfra, metric, startTestGateway } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/** Accept-time limits of both listeners (docs/architecture.md §6) and the gateway's graceful stop. */
let infra: Infra;
let gateway: GatewayHandle | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway?.stop();
  gateway = undefined;
  await infra.close();
});

async function start(overrides = {}): Promise<GatewayHandle> {
  infra = memoryInfra();
  gateway = await startTestGateway({ nodeId: "gw-listen", infra: await infra.instance(), overrides });
  return gateway;
}

/** The HTTP status a WebSocket upgrade is refused with. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => reject(new Error("upgrade unexpectedly accepted")));
    ws.on("error", () => undefined);
  });
}

describe("listeners", () => {
  it("enforce gateway.maxConnectionsPerIp across TCP and WebSocket at accept", async () => {
    const g = await start({ gateway: { maxConnectionsPerIp: 2 } });
    clients.push(await RawClient.tcp(g.tcpPort), await RawClient.ws(g.wsPort));
    const third = await RawClient.tcp(g.tcpPort);
    clients.push(third);
    await third.waitClosed();
    expect(await upgradeStatus(`ws://127.0.0.1:${g.wsPort}/ws`)).toBe(429);
    expect(await metric(g, "whaleshark_gateway_connections_refused_total", { reason: "ip-limit" })).toBe(2);
    // A slot frees when a connection closes.
    clients.shift()?.close();
    await new Promise((r) => setTimeout(r, 50));
    const again = await RawClient.tcp(g.tcpPort);
    clients.push(again);
    await login(again, "u1");
  });

  it("upgrade WebSocket only on the exact path", async () => {
    const g = await start();
    expect(await upgradeStatus(`ws://127.0.0.1:${g.wsPort}/other`)).toBe(404);
    expect(await upgradeStatus(`ws://127.0.0.1:${g.wsPort}/ws/x`)).toBe(404);
    const res = await fetch(`http://127.0.0.1:${g.wsPort}/ws`);
    expect(res.status).toBe(426);
    const ok = await RawClient.ws(g.wsPort, "/ws?token=1");
    clients.push(ok);
    await login(ok, "u1");
  });

  it("stop() closes every connection and marks the sessions offline", async () => {
    const g = await start();
    const tcp = await RawClient.tcp(g.tcpPort);
    const ws = await RawClient.ws(g.wsPort);
    clients.push(tcp, ws);
    await login(tcp, "s1", { clientType: 3, imei: "a" });
    await login(ws, "s2", { clientType: 1, imei: "b" });
    await g.stop();
    gateway = undefined;
    await tcp.waitClosed();
    await ws.waitClosed();
    const kv = await infra.kv();
    expect(JSON.parse((await kv.hget(sessionKey(APP_ID, "s1"), "3:a")) ?? "{}").connectState).toBe(2);
    expect(JSON.parse((await kv.hget(sessionKey(APP_ID, "s2"), "1:b")) ?? "{}").connectState).toBe(2);
    await expect(RawClient.tcp(g.tcpPort)).rejects.toThrow();
  });
});
