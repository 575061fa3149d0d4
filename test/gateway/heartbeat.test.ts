import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { sessionKey } from "../../lib/sessions/session-record.js";
import { eventually } from "../support/harness/eventually.js";
import { APP_ID, type Infra, login, memoryInfra, metric, startTestGateway } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * Done-when of issue 3: heartbeat timeout observed over TCP and WebSocket with a short interval
 * (fixes D3: the original never closed a silent live TCP connection and had no check on WS).
 */
const TIMEOUT_MS = 1000;
let infra: Infra;
let gateway: GatewayHandle;
const clients: RawClient[] = [];

beforeEach(async () => {
  infra = memoryInfra();
  gateway = await startTestGateway({
    nodeId: "gw-hb",
    infra: await infra.instance(),
    overrides: { gateway: { heartbeatTimeoutMs: TIMEOUT_MS } },
  });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway.stop();
  await infra.close();
});

describe.each(["tcp", "ws"] as const)("heartbeat over %s", (kind) => {
  const open = async () => {
    const c = await RawClient.connect(kind, kind === "tcp" ? gateway.tcpPort : gateway.wsPort);
    clients.push(c);
    return c;
  };

  it("closes a silent logged-in connection and marks its session offline", async () => {
    const silent = await open();
    const ack = await login(silent, "hb-user", { clientType: 3, imei: "phone" });
    expect(ack.command).toBe(9001);
    const started = Date.now();
    await silent.waitClosed(TIMEOUT_MS * 3);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS * 2.5); // sweep every timeout/4, plus scheduling
    const kv = await infra.kv();
    await eventually(async () => {
      const record = JSON.parse((await kv.hget(sessionKey(APP_ID, "hb-user"), "3:phone")) ?? "{}");
      return record.connectState === 2;
    });
    expect(await metric(gateway, "whaleshark_gateway_heartbeat_timeouts_total", { transport: kind })).toBe(1);
  });

  it("keeps a connection that pings within the timeout", async () => {
    const pinging = await open();
    await login(pinging, "hb-alive", { clientType: 3, imei: "phone" });
    const timer = setInterval(
      () => pinging.send({ command: 9999, body: { type: "ping", timestamp: Date.now() } }),
      300,
    );
    try {
      await new Promise((r) => setTimeout(r, TIMEOUT_MS * 2));
    } finally {
      clearInterval(timer);
    }
    expect(pinging.closed).toBe(false);
    // PING is never answered (spec §4.5): nothing but the LOGIN_ACK arrived.
    expect(pinging.frames.map((f) => f.command)).toEqual([9001]);
  });

  it("also closes a connection that never logs in", async () => {
    const idle = await open();
    await idle.waitClosed(TIMEOUT_MS * 3);
    expect(gateway.connectionCount()).toBe(0);
  });
});
