import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Gauge, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyUserSign } from "../../lib/auth/index.js";
import { originPolicy } from "../transport/origin-policy.js";
import { type ConsoleHandlerOptions, createConsoleHandler, httpApiFor } from "./handler.js";
import { OpsSampler } from "./ops.js";

const KEY = "console-test-key";

/** A built console folder with a page, a script and a sub-folder, plus a secret beside it. */
function consoleDir(withIndex = true): string {
  const base = mkdtempSync(join(tmpdir(), "ws-console-"));
  writeFileSync(join(base, "secret.txt"), "do not serve");
  const root = join(base, "console");
  mkdirSync(join(root, "assets"), { recursive: true });
  if (withIndex) writeFileSync(join(root, "index.html"), "<!doctype html><title>WhaleShark</title>");
  writeFileSync(join(root, "app.js"), "console.log('hi')");
  writeFileSync(join(root, "assets", "logo.svg"), "<svg/>");
  return root;
}

interface Served {
  url: string;
  logs: string[];
  created: string[];
  server: Server;
}

/** Serves the console handler as the WebSocket listener does: its paths, else 426. */
async function serve(overrides: Partial<ConsoleHandlerOptions> = {}, demo = true): Promise<Served> {
  const logs: string[] = [];
  const created: string[] = [];
  const registry = new Registry();
  new Gauge({
    name: "whaleshark_gateway_connections",
    help: "x",
    labelNames: ["transport"],
    registers: [registry],
  })
    .labels({ transport: "ws" })
    .set(3);
  const handle = createConsoleHandler({
    enabled: true,
    profile: "embedded",
    appId: 10001,
    wsPath: "/ws",
    httpApi: { configured: undefined, embeddedPort: () => 18000 },
    demo: {
      enabled: demo,
      appId: 10001,
      privateKey: KEY,
      adminIds: ["admin"],
      ensureUser: async (userId) => {
        created.push(userId);
        return userId === "boss" ? "admin" : "user";
      },
    },
    ops: new OpsSampler(registry),
    origins: originPolicy(["http://good.example"]),
    logger: pino({ level: "debug" }, { write: (line: string) => void logs.push(line) }),
    root: consoleDir(),
    ...overrides,
  });
  const server = createServer((req, res) => {
    if (handle(req, res)) return;
    res.writeHead(426).end("websocket only\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs, created, server };
}

/**
 * A raw GET, so paths reach the server exactly as written (fetch would normalise `..`) and the Host
 * header can be set; resolves with the status and body.
 */
async function rawRequest(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const login = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/console/demo-login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("console handler (on)", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(() => s.server.close());

  it("serves the page at / and files under /console/ with their types, no-cache, and HEAD without a body", async () => {
    const page = await fetch(`${s.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await page.text()).toContain("<title>WhaleShark</title>");
    const js = await fetch(`${s.url}/console/app.js?v=1`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await js.text()).toBe("console.log('hi')");
    const svg = await fetch(`${s.url}/console/assets/logo.svg`);
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    const head = await fetch(`${s.url}/console/app.js`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("17");
    expect(await head.text()).toBe("");
  });

  it("refuses traversal, encoded or not, hidden files, and directories (404, no listing)", async () => {
    for (const path of [
      "/console/../secret.txt",
      "/console/%2e%2e/secret.txt",
      "/console/%2E%2E%2Fsecret.txt",
      "/console/..%2fsecret.txt",
      "/console/assets/../../secret.txt",
      "/console/..\\secret.txt",
      "/console/%5c..%5csecret.txt",
      "/console/%00app.js",
      "/console/.hidden",
      "/console/assets",
      "/console/assets/",
      "/console/",
      "/console",
      "/console/missing.js",
      "/console/%E0%A4%A",
    ]) {
      expect((await rawRequest(s.url, path)).status, path).toBe(404);
    }
  });

  it("answers GET and HEAD only on files, POST only on demo-login (405 with Allow)", async () => {
    const post = await fetch(`${s.url}/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const put = await fetch(`${s.url}/console/config.json`, { method: "PUT", body: "x" });
    expect(put.status).toBe(405);
    const get = await fetch(`${s.url}/console/demo-login`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("leaves other paths to the WebSocket listener (426)", async () => {
    expect((await fetch(`${s.url}/ws`)).status).toBe(426);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(426);
    expect((await fetch(`${s.url}/consoles`)).status).toBe(426);
  });

  it("describes the deployment in config.json, the HTTP API on the page's own host", async () => {
    const res = await rawRequest(s.url, "/console/config.json", { host: "192.168.1.5:19002" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      appId: 10001,
      wsPath: "/ws",
      httpApi: "http://192.168.1.5:18000",
      demoLogin: true,
      profile: "embedded",
      demoUsers: ["alice", "bob", "carol"],
    });
    expect(httpApiFor({ configured: "https://api.example.com/", embeddedPort: () => 18000 }, "x")).toBe(
      "https://api.example.com",
    );
    expect(httpApiFor({ configured: undefined, embeddedPort: () => undefined }, "x")).toBe("");
    expect(httpApiFor({ configured: undefined, embeddedPort: () => 18000 }, "evil.com/<script>")).toBe(
      "http://127.0.0.1:18000",
    );
    expect(httpApiFor({ configured: undefined, embeddedPort: () => 18000 }, "[::1]:19002")).toBe(
      "http://[::1]:18000",
    );
  });

  it("reports ops.json from the registry", async () => {
    const ops = (await (await fetch(`${s.url}/console/ops.json`)).json()) as Record<string, unknown>;
    expect(ops.connections).toBe(3);
    expect(ops.messagesPerSecond).toBe(0);
    expect(ops.deliveryLagMs).toBeNull();
    expect(typeof ops.at).toBe("number");
  });

  it("demo login: a userSign for the user, created first, never logged", async () => {
    const res = await login(s.url, JSON.stringify({ userId: "zoe" }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      appId: number;
      userId: string;
      userSign: string;
      expiresInSeconds: number;
    };
    expect(body).toMatchObject({ appId: 10001, userId: "zoe", expiresInSeconds: 86400 });
    const verified = verifyUserSign({
      token: body.userSign,
      appId: 10001,
      identifier: "zoe",
      privateKey: KEY,
    });
    expect(verified.expiresAt - Math.floor(Date.now() / 1000)).toBeGreaterThan(86_000);
    expect(s.created).toEqual(["zoe"]);
    const logged = s.logs.join("");
    expect(logged).toContain('"msg":"demo login"');
    expect(logged).not.toContain(body.userSign);
  });

  it("demo login refuses bad bodies and ids (400), admins and other origins (403), other types (415), big bodies (413)", async () => {
    const cases: Array<[string, Record<string, string>, number]> = [
      ["not json", {}, 400],
      ["null", {}, 400],
      ["{}", {}, 400],
      [JSON.stringify({ userId: "" }), {}, 400],
      [JSON.stringify({ userId: 7 }), {}, 400],
      [JSON.stringify({ userId: "a".repeat(33) }), {}, 400],
      [JSON.stringify({ userId: "bad id" }), {}, 400],
      [JSON.stringify({ userId: "<script>" }), {}, 400],
      [JSON.stringify({ userId: "admin" }), {}, 403],
      [JSON.stringify({ userId: "boss" }), {}, 403], // user_type 100 in the database
      [JSON.stringify({ userId: "zoe" }), { origin: "http://evil.example" }, 403],
      [JSON.stringify({ userId: "zoe" }), { "content-type": "text/plain" }, 415],
      [JSON.stringify({ userId: "z".repeat(5000) }), {}, 413],
    ];
    for (const [body, headers, status] of cases) {
      const res = await login(s.url, body, headers);
      expect(res.status, body.slice(0, 40)).toBe(status);
      expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(5);
    }
    const ok = await login(s.url, JSON.stringify({ userId: "zoe" }), { origin: "http://good.example" });
    expect(ok.status).toBe(200);
  });
});

describe("console handler (demo login off, console off, page not built)", () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it("refuses the demo login with 403 when it is off", async () => {
    const s = await serve({}, false);
    servers.push(s.server);
    const res = await login(s.url, JSON.stringify({ userId: "zoe" }));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "demo login is disabled" });
    expect(s.created).toEqual([]);
    const config = (await (await fetch(`${s.url}/console/config.json`)).json()) as { demoLogin: boolean };
    expect(config.demoLogin).toBe(false);
  });

  it("answers every console path 404 when the console is off, and the rest 426 as before", async () => {
    const s = await serve({ enabled: false });
    servers.push(s.server);
    for (const path of ["/", "/console/config.json", "/console/ops.json", "/console/app.js", "/console"]) {
      expect((await fetch(`${s.url}${path}`)).status, path).toBe(404);
    }
    expect((await login(s.url, JSON.stringify({ userId: "zoe" }))).status).toBe(404);
    expect(s.created).toEqual([]);
    expect((await fetch(`${s.url}/ws`)).status).toBe(426);
  });

  it("answers / with 503 and how to build it when the page is not built", async () => {
    const s = await serve({ root: join(consoleDir(false), "..", "nowhere") });
    servers.push(s.server);
    const res = await fetch(`${s.url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("run npm run gen");
  });

  it("answers 503 when the user cannot be created", async () => {
    const s = await serve({
      demo: {
        enabled: true,
        appId: 10001,
        privateKey: KEY,
        adminIds: [],
        ensureUser: () => Promise.reject(new Error("UNAVAILABLE")),
      },
    });
    servers.push(s.server);
    const res = await login(s.url, JSON.stringify({ userId: "zoe" }));
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).not.toContain("userSign");
  });
});
