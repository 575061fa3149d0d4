import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForInstances } from "../app/cluster-member.js";
import { compiledEntry } from "../bin/runtime.js";
import { isolatedEnv } from "./support/cli.js";
import { ClusterResources, NAMES } from "./support/cluster.js";

// `npm run build` (issue 18 item 2): the command compiled to JavaScript, started from the build
// alone. The test builds into a folder of its own under .tmp/ (git-ignored), not dist/, so other
// tests running meanwhile keep the code they started with (bin/whaleshark.js would switch to a
// fresh dist/).
const repo = fileURLToPath(new URL("..", import.meta.url));
const out = join(repo, ".tmp", `build-test-${process.pid}`);
const bin = join(out, "bin", "whaleshark.js");

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe("npm run build", () => {
  const running: Started[] = [];
  let cluster: ClusterResources | undefined;
  beforeAll(async () => {
    await promisify(execFile)("npm", ["run", "build", "--", "--out-dir", relative(repo, out)], {
      cwd: repo,
      timeout: 240_000,
    });
  }, 240_000);
  afterAll(async () => {
    for (const cli of running) cli.child.kill("SIGKILL");
    await cluster?.remove([]);
    rmSync(out, { recursive: true, force: true });
  });

  it("compiles to JavaScript only, with every file the code reads through import.meta.url", async () => {
    const built = await files(out);
    expect(built.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(built).toEqual(
      expect.arrayContaining([
        "app/cli.js",
        "bin/whaleshark.js",
        "BUILD-INFO.json",
        "gen/descriptor.binpb",
        "lib/adapters/redis/lua/kv-batch.lua",
      ]),
    );
    expect(built.some((f) => f.startsWith("prisma/migrations/") && f.endsWith("migration.sql"))).toBe(true);
    // No test, SDK or bench code: tsc follows the imports of app/cli.ts only.
    expect(built.filter((f) => f.endsWith(".test.js") || /^(sdk|bench|test)\//.test(f))).toEqual([]);
    // Every `new URL("<relative>", import.meta.url)` of the compiled code points at a file of the build.
    const targets: string[] = [];
    for (const f of built.filter((name) => name.endsWith(".js"))) {
      const text = readFileSync(join(out, f), "utf8");
      for (const m of text.matchAll(/new URL\("(\.{1,2}\/[^"]+)", import\.meta\.url\)/g)) {
        const target = fileURLToPath(new URL(m[1]!, `file://${join(out, f)}`));
        targets.push(relative(out, target));
        expect(existsSync(target), `${f} reads ${m[1]}`).toBe(true);
      }
    }
    expect(targets).toEqual(expect.arrayContaining(["gen/descriptor.binpb", "prisma/migrations"]));
    // The build lists what it was made from, for bin/runtime.js.
    const info = JSON.parse(readFileSync(join(out, "BUILD-INFO.json"), "utf8")) as { sources: string[] };
    expect(info.sources).toEqual(
      expect.arrayContaining(["app/cli.ts", "gen/descriptor.binpb", "tsconfig.json"]),
    );
  });

  it("whaleshark start runs from the build, serves the HTTP API on the domain port, opens the gateway and stops cleanly", async () => {
    const env = await isolatedEnv();
    const cli = startCliFrom(bin, ["start"], env);
    running.push(cli);
    const started = await cli.waitForLog((l) => l.msg === "whaleshark started", 60_000);
    const roles = Object.fromEntries(
      (started.roles as string[]).map((r) => r.split("@") as [string, string]),
    );
    const domain = (roles.domain ?? "").replace("0.0.0.0", "127.0.0.1");
    // The HTTP API on the domain's port: an unsigned call is refused with the original's 60001.
    const res = await fetch(`http://${domain}/v1/user/data/getUserInfo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ appId: 10001, operater: "u1", userIds: ["u1"] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { code: number }).code).toBe(60001);
    const gateway = await cli.waitForLog((l) => l.msg === "gateway listening", 1000);
    expect(gateway.tcpPort).toBeGreaterThan(0);
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  }, 90_000);

  it("migrate (database URL alone) and the store role run from the build in the distributed profile", async () => {
    cluster = await ClusterResources.create();
    const migrateEnv = await isolatedEnv({
      WHALESHARK_PROFILE: "distributed",
      WHALESHARK_DATABASE_URL: cluster.database.url,
    });
    const migrate = startCliFrom(bin, ["migrate"], migrateEnv);
    running.push(migrate);
    const migrated = await migrate.exited;
    expect(migrated.stderr).toBe("");
    expect(migrated.code).toBe(0);

    const store = startCliFrom(bin, ["store"], cluster.env);
    running.push(store);
    const listening = await store.waitForLog((l) => l.msg === "grpc server listening", 60_000);
    const port = listening.port as number;
    // The store's HTTP API answers on its gRPC port (an unsigned call: 60001).
    const res = await fetch(`http://127.0.0.1:${port}/v1/message/syncP2PMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(((await res.json()) as { code: number }).code).toBe(60001);
    // Started once registered in discovery (as `whaleshark cluster` counts it); SIGTERM then drains.
    const discovery = await cluster.discovery();
    try {
      await waitForInstances(discovery, NAMES.store, (list) => list.some((i) => i.port === port), 30_000);
    } finally {
      await discovery.close();
    }
    store.child.kill("SIGTERM");
    expect((await store.exited).code).toBe(0);
  }, 120_000);
});

/** A `whaleshark` process started from `entry`, with its JSON log lines (test/support/cli.ts runs bin/). */
interface Started {
  child: ChildProcess;
  waitForLog(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function startCliFrom(entry: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, [entry, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (text) => {
    try {
      logs.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stderr })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    exited,
    async waitForLog(match, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const seen = logs.find(match);
        if (seen) return seen;
        if (done) throw new Error(`exited before the log line; stderr: ${stderr}`);
        if (Date.now() > until) throw new Error(`no matching log line within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe("bin/runtime.js: which code `whaleshark` runs", () => {
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it("the build while no source it lists is newer, tsx otherwise; WHALESHARK_RUNTIME forces one", () => {
    const root = mkdtempSync(join(tmpdir(), "ws-runtime-"));
    const dist = join(root, "dist");
    const source = join(root, "app", "cli.ts");
    try {
      expect(compiledEntry(root, {})).toBeUndefined(); // no build
      mkdirSync(dirname(source), { recursive: true });
      writeFileSync(source, "");
      mkdirSync(dist, { recursive: true });
      writeFileSync(join(dist, "BUILD-INFO.json"), JSON.stringify({ sources: ["app/cli.ts"] }));
      at(source, 1_000_000);
      at(join(dist, "BUILD-INFO.json"), 2_000_000);
      expect(compiledEntry(root, {})).toBe(join(dist, "app", "cli.js"));
      expect(compiledEntry(root, { WHALESHARK_RUNTIME: "tsx" })).toBeUndefined();
      at(source, 3_000_000); // edited after the build
      expect(compiledEntry(root, {})).toBeUndefined();
      expect(compiledEntry(root, { WHALESHARK_RUNTIME: "dist" })).toBe(join(dist, "app", "cli.js"));
      rmSync(source); // a source gone
      expect(compiledEntry(root, {})).toBeUndefined();
      rmSync(join(dist, "BUILD-INFO.json")); // no complete build
      expect(() => compiledEntry(root, { WHALESHARK_RUNTIME: "dist" })).toThrow(/npm run build/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
