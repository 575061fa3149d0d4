import { readdirSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { GrpcReflection } from "grpc-js-reflection-client";
import { afterAll, describe, expect, it } from "vitest";
import { verifyUserSign } from "../lib/auth/index.js";
import { isolatedEnv, type RunningCli, runCli, startCli } from "./support/cli.js";

// These tests drive the real `whaleshark` command in a child process, as a
// user would, with nothing but the protocol (no generated code) on the client side.

type HealthClient = grpc.Client & {
  check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
};

function healthClient(address: string): HealthClient {
  const def = protoLoader.loadSync(healthProtoPath, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthClient } } };
  };
  return new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status)));
  });
}

describe("whaleshark start (embedded, all roles in one process)", () => {
  let cli: RunningCli | undefined;
  afterAll(() => {
    cli?.child.kill("SIGKILL");
  });

  it("comes up, answers health, lists its services through reflection, and exits 0 on SIGTERM", async () => {
    cli = startCli(["start"], await isolatedEnv());
    const started = await cli.waitForLog((l) => l.msg === "whaleshark started", 60_000);
    const addresses = Object.fromEntries(
      (started.roles as string[]).map((r) => {
        const [role, address] = r.split("@");
        return [role, address];
      }),
    ) as Record<string, string>;
    expect(Object.keys(addresses).sort()).toEqual(["domain", "gateway", "store"]);

    const domain = addresses.domain!.replace("0.0.0.0", "127.0.0.1");
    const health = healthClient(domain);
    expect(await check(health, "")).toBe("SERVING");
    expect(await check(health, "whaleshark.v1.UserService")).toBe("SERVING");
    health.close();

    const reflection = new GrpcReflection(domain, grpc.credentials.createInsecure());
    const services = await reflection.listServices();
    expect(services).toEqual(
      expect.arrayContaining([
        "whaleshark.v1.UserService",
        "whaleshark.v1.FriendshipService",
        "whaleshark.v1.GroupService",
        "whaleshark.v1.ChatService",
        "whaleshark.v1.MessageService",
        "whaleshark.v1.HistoryService",
      ]),
    );
    // A client built from reflection alone can call a method; without the
    // app's credentials in metadata the domain refuses it (60001, spec §6.2).
    const descriptor = await reflection.getDescriptorBySymbol("whaleshark.v1.UserService");
    const pkg = descriptor.getPackageObject({ keepCase: false }) as unknown as {
      whaleshark: { v1: { UserService: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } };
    };
    const users = new pkg.whaleshark.v1.UserService(
      domain,
      grpc.credentials.createInsecure(),
    ) as grpc.Client & {
      getSingleUserInfo(req: object, cb: (err: grpc.ServiceError | null) => void): void;
    };
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      users.getSingleUserInfo({ appId: 10001, operater: "u1", userId: "u1" }, resolve),
    );
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.metadata.get("whaleshark-code")).toEqual(["60001"]);
    users.close();

    const storeHealth = healthClient(addresses.store!.replace("0.0.0.0", "127.0.0.1"));
    expect(await check(storeHealth, "whaleshark.v1.HistoryService")).toBe("SERVING");
    storeHealth.close();

    cli.child.kill("SIGTERM");
    const result = await cli.exited;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(cli.logs.some((l) => l.msg === "grpc server stopped")).toBe(true);
  });
});

describe("configuration errors", () => {
  it("a wrong value stops start-up with one line naming the key", async () => {
    const r = await runCli(["start"], await isolatedEnv({ WHALESHARK_GATEWAY__TCP_PORT: "not-a-port" }));
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/gateway\.tcpPort/);
    expect(lines[0]).toMatch(/WHALESHARK_GATEWAY__TCP_PORT/);
  });

  it("the distributed profile without a database URL names the missing key", async () => {
    const r = await runCli(
      ["domain"],
      await isolatedEnv({
        WHALESHARK_PROFILE: "distributed",
        WHALESHARK_APPS: JSON.stringify({ "10001": { privateKey: "a-long-secret" } }),
        WHALESHARK_REDIS_URL: "redis://127.0.0.1:6379",
        WHALESHARK_AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
      }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/database\.url/);
    expect(r.stderr).toMatch(/WHALESHARK_DATABASE_URL/);
  });
});

describe("whaleshark token", () => {
  it("prints only a userSign that verifies with the app's key", async () => {
    const r = await runCli(
      ["token", "--app", "10001", "--user", "u1", "--expire", "3600"],
      await isolatedEnv(),
    );
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(r.stdout).toBe(`${token}\n`);
    const { expiresAt } = verifyUserSign({ token, appId: 10001, identifier: "u1", privateKey: "bantanger" });
    expect(expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it("refuses an app without a configured key", async () => {
    const r = await runCli(["token", "--app", "424242", "--user", "u1"], await isolatedEnv());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/app 424242 is not configured/);
  });
});

describe("whaleshark migrate (embedded)", () => {
  it("applies the migrations to the data folder once", async () => {
    const env = await isolatedEnv();
    const first = await runCli(["migrate"], env, 60_000);
    expect(first.code).toBe(0);
    const migrations = readdirSync("prisma/migrations", { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(first.stdout).toContain(`"applied":${JSON.stringify(migrations)}`);
    const second = await runCli(["migrate"], env, 60_000);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/"applied":\[\]/);
  }, 120_000); // two PGlite start-ups: slow on a busy 2-core machine
});
