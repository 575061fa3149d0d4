import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import type { Config, DeepPartial } from "../../lib/config/index.js";
import { type Infra, realInfra, startTestGateway } from "../gateway/support/harness.js";

// Issue 17 "Done when": where the console is off it is refused (404), and the demo login is
// refused unless enabled, on a gateway of the distributed profile (Redis and RabbitMQ).

/** What a distributed gateway needs besides the console keys (the test app and secret come with the test config). */
const DISTRIBUTED: DeepPartial<Config> = {
  profile: "distributed",
  database: { url: "postgresql://postgres@127.0.0.1:5432/unused" },
  redis: { url: "redis://127.0.0.1:6379" },
  amqp: { url: "amqp://guest:guest@127.0.0.1:5672" },
};

/** One HTTP request to the gateway's WebSocket port; resolves with the status and body. */
function call(
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the console on a distributed gateway", () => {
  const infra: Infra = realInfra();
  const gateways: GatewayHandle[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await infra.close();
  });

  async function gateway(overrides: DeepPartial<Config>): Promise<GatewayHandle> {
    const handle = await startTestGateway({
      nodeId: `console-gw-${gateways.length}`,
      infra: await infra.instance(),
      overrides: { ...DISTRIBUTED, ...overrides },
    });
    gateways.push(handle);
    return handle;
  }

  it("is off by default: every console path 404, the demo login too; other requests 426 as before", async () => {
    const g = await gateway({});
    for (const path of ["/", "/console/config.json", "/console/ops.json", "/console/app.js"]) {
      expect((await call(g.wsPort, "GET", path)).status, path).toBe(404);
    }
    const login = await call(g.wsPort, "POST", "/console/demo-login", JSON.stringify({ userId: "alice" }));
    expect(login.status).toBe(404);
    expect(login.body).not.toContain("userSign");
    expect((await call(g.wsPort, "GET", "/ws")).status).toBe(426);
  });

  it("when switched on, still refuses the demo login unless console.demoLogin is set", async () => {
    const g = await gateway({ gateway: { console: true, consoleHttpApi: "https://api.example.com" } });
    const config = JSON.parse((await call(g.wsPort, "GET", "/console/config.json")).body) as Record<
      string,
      unknown
    >;
    expect(config).toMatchObject({
      profile: "distributed",
      demoLogin: false,
      httpApi: "https://api.example.com",
    });
    const login = await call(g.wsPort, "POST", "/console/demo-login", JSON.stringify({ userId: "alice" }));
    expect(login.status).toBe(403);
    expect(JSON.parse(login.body)).toEqual({ error: "demo login is disabled" });
    const ops = JSON.parse((await call(g.wsPort, "GET", "/console/ops.json")).body) as Record<
      string,
      unknown
    >;
    expect(ops.connections).toBe(0);
    expect(typeof ops.at).toBe("number");
  });
});
