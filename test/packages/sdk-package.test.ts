import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateUserSign } from "../../lib/auth/index.js";
import { isolatedEnv, type RunningCli, startCli } from "../support/cli.js";
import { APP_ID, APP_KEY } from "../support/harness/app.js";
import { installPacked, ROOT, run, typecheck } from "./support/pack.js";
import { CHAT_PAGE, NODE_CHAT_SCRIPT, TYPED_USE } from "./support/sdk-consumer.js";

/**
 * Issue 18 item 3: the client SDK as a package. `npm pack` in sdk/ (its prepack builds dist/), the
 * tarball installed into an empty project outside the repository (so nothing of the server can be
 * reached by Node's resolution), and from there: a Node program chats with `whaleshark start` over
 * TCP and WebSocket, tsc type-checks a program against the package's declarations, and Chromium
 * loads the browser bundle from a page on another origin and chats over WebSocket. Fails, never
 * skips, when Chromium is missing (scripts/services.sh installs it).
 */
const CHROMIUM = process.env.WHALESHARK_CHROMIUM ?? "/usr/bin/chromium";

let work: string;
let project: string;
let cli: RunningCli | undefined;
let ports: { tcp: number; ws: number };
let browser: Browser | undefined;
let pageServer: Server | undefined;

const sign = (userId: string) =>
  generateUserSign({ appId: APP_ID, identifier: userId, privateKey: APP_KEY, expireSeconds: 600 });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "whaleshark-sdk-package-"));
  const server = (async () => {
    cli = startCli(["start"], await isolatedEnv({ WHALESHARK_SEED__DEMO: "true" }));
    await cli.waitForLog((l) => l.msg === "whaleshark started", 90_000);
    const gateway = await cli.waitForLog((l) => l.msg === "gateway listening", 1_000);
    ports = { tcp: gateway.tcpPort as number, ws: gateway.wsPort as number };
  })();
  project = await installPacked("@whaleshark/sdk", work);
  await server;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
  cli?.child.kill("SIGTERM");
  const exited = await cli?.exited;
  if (work) await rm(work, { recursive: true, force: true });
  expect(exited?.code ?? 0).toBe(0);
}, 30_000);

describe("the packed @whaleshark/sdk tarball in an empty project", () => {
  it("holds only the built package: ESM entries, the browser bundle, declarations, no sources", async () => {
    const installed = join(project, "node_modules/@whaleshark/sdk");
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    // The only dependency is pinned, and it is the one the server's contract code uses too.
    const root = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies).toEqual({ "@bufbuild/protobuf": root.dependencies["@bufbuild/protobuf"] });
    for (const file of [
      "dist/index.js",
      "dist/transport/tcp.js",
      "dist/browser/whaleshark-sdk.js",
      "dist/types/sdk/index.d.ts",
      "dist/types/sdk/transport/tcp.d.ts",
      "dist/types/lib/wire/index.d.ts",
    ]) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    expect(existsSync(join(installed, "index.ts")), "TypeScript sources are not shipped").toBe(false);
    expect(existsSync(join(installed, "lib")), "no server code beside the package").toBe(false);
    // The browser bundle is self-contained: no import statement left for a browser to fail on.
    const bundle = await readFile(join(installed, "dist/browser/whaleshark-sdk.js"), "utf8");
    expect(bundle).not.toMatch(/\bimport\s*[{*"'\w]|\bimport\(/);
  });

  it("tsc type-checks a program against the package's declarations (and rejects wrong calls)", async () => {
    // typed-use.ts holds @ts-expect-error lines: were the declarations `any`, tsc would fail on them.
    expect(await typecheck(project, { "typed-use.ts": TYPED_USE })).toBe("");
  }, 120_000);

  it("chats from Node: alice on TCP (protobuf bodies), bob on WebSocket (JSON), both ways", async () => {
    await writeFile(join(project, "chat.mjs"), NODE_CHAT_SCRIPT);
    // Node 20 has WebSocket behind a flag; Node 22 has it on by default.
    const flags = typeof globalThis.WebSocket === "function" ? [] : ["--experimental-websocket"];
    const config = {
      tcp: { host: "127.0.0.1", port: ports.tcp },
      wsUrl: `ws://127.0.0.1:${ports.ws}/ws`,
      appId: APP_ID,
      alice: sign("alice"),
      bob: sign("bob"),
      marker: `node-${Date.now()}`,
    };
    const { stdout } = await run(process.execPath, [...flags, "chat.mjs"], {
      cwd: project,
      env: { ...process.env, CHAT_CONFIG: JSON.stringify(config) },
      timeout: 30_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    expect(result).toEqual({
      aliceLoggedIn: true,
      bobLoggedIn: true,
      aliceAck: { code: 200, hasSequence: true },
      bobReceived: [`${config.marker} hello bob over TCP 🐋 你好`],
      aliceReceived: [`${config.marker} hi alice over WebSocket ✅`],
    });
  }, 60_000);

  it("chats from Chromium through the browser bundle, served from another origin", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    const bundle = await readFile(
      join(project, "node_modules/@whaleshark/sdk/dist/browser/whaleshark-sdk.js"),
      "utf8",
    );
    const pages = createServer((req, res) => {
      if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(CHAT_PAGE);
      else if (req.url === "/whaleshark-sdk.js")
        res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
      else res.writeHead(404).end();
    });
    pageServer = pages;
    const port = await new Promise<number>((resolve) =>
      pages.listen(0, "127.0.0.1", () => resolve((pages.address() as { port: number }).port)),
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction("window.chatReady === true", undefined, { timeout: 10_000 });
    const marker = `browser-${Date.now()}`;
    const result = await page.evaluate(
      (cfg) => (globalThis as unknown as { chat(c: typeof cfg): Promise<unknown> }).chat(cfg),
      {
        wsUrl: `ws://127.0.0.1:${ports.ws}/ws`,
        appId: APP_ID,
        carol: sign("carol"),
        bob: sign("bob"),
        marker,
      },
    );
    expect(errors).toEqual([]);
    expect(result).toEqual({
      carolAck: { code: 200, hasSequence: true },
      bobReceived: [`${marker} from carol's browser 🌊 こんにちは`],
      carolReceived: [`${marker} bob answers in the browser`],
    });
  }, 60_000);
});
