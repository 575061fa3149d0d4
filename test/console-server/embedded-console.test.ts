import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { verifyUserSign } from "../../lib/auth/index.js";
import { WhaleSharkClient } from "../../sdk/index.js";
import { type WebSocketConstructor, wsTransport } from "../../sdk/transport/ws.js";
import { isolatedEnv, type RunningCli, runCli, startCli } from "../support/cli.js";
import { ADMIN, APP_ID, APP_KEY, userSign } from "../support/harness/app.js";
import { eventually } from "../support/harness/eventually.js";

// Issue 17 items 1, 2 and 5, as a newcomer meets them: `whaleshark start` on a fresh data dir
// prints where the console is, has seeded demo users, the console's demo login gives a userSign
// that logs in over WebSocket and can send at once, and `whaleshark user add` makes a user that
// can be sent to. A second start of the same data dir seeds nothing twice.

const repo = fileURLToPath(new URL("../..", import.meta.url));

const ADMIN_SIGN = () => userSign(ADMIN, 600);

interface Started {
  cli: RunningCli;
  stderr: () => string;
  domain: string;
  wsPort: number;
}

async function start(env: NodeJS.ProcessEnv): Promise<Started> {
  const cli = startCli(["start"], env);
  let stderr = "";
  cli.child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  const started = await cli.waitForLog((l) => l.msg === "whaleshark started", 90_000);
  const roles = Object.fromEntries((started.roles as string[]).map((r) => r.split("@") as [string, string]));
  const gateway = await cli.waitForLog((l) => l.msg === "gateway listening", 1_000);
  return {
    cli,
    stderr: () => stderr,
    domain: (roles.domain ?? "").replace("0.0.0.0", "127.0.0.1"),
    wsPort: gateway.wsPort as number,
  };
}

async function stop(s: Started): Promise<void> {
  s.cli.child.kill("SIGTERM");
  const result = await s.cli.exited;
  expect(result.code).toBe(0);
}

/** A Connect-style call of the HTTP API as the demo admin (README "HTTP API"). */
async function api(domain: string, method: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${domain}/whaleshark.v1.${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      appid: "10001",
      identifier: "admin",
      usersign: ADMIN_SIGN(),
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

async function demoLogin(wsPort: number, userId: string): Promise<{ userSign: string; status: number }> {
  const res = await fetch(`http://127.0.0.1:${wsPort}/console/demo-login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  const body = (await res.json()) as { userSign: string };
  return { userSign: body.userSign, status: res.status };
}

/** A device of `userId` on the gateway's WebSocket, logged in with a demo-login userSign. */
async function device(wsPort: number, userId: string) {
  const { userSign, status } = await demoLogin(wsPort, userId);
  expect(status).toBe(200);
  const client = new WhaleSharkClient({
    transport: wsTransport({
      url: `ws://127.0.0.1:${wsPort}/ws`,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    }),
    appId: 10001,
    userId,
    clientType: 1,
    imei: `console-test-${userId}`,
    userSign,
    reconnect: false,
  });
  const received: string[] = [];
  client.on("message", (m) => {
    if (!m.fromSelf) received.push(String(m.message.messageBody));
  });
  await client.connect();
  return { client, received };
}

describe("a fresh `whaleshark start`: banner, demo data, console demo login, admin commands", () => {
  const running: Started[] = [];
  afterAll(() => {
    for (const s of running) s.cli.child.kill("SIGKILL");
  });

  it("lets a newcomer chat at once and a second start seeds nothing twice", async () => {
    const env = await isolatedEnv({ WHALESHARK_SEED__DEMO: "true" });
    const dataDir = env.WHALESHARK_DATA_DIR as string;
    const first = await start(env);
    running.push(first);

    // The banner: console URL, client and API addresses, data dir, the demo admin and its token.
    await eventually(() => first.stderr().includes("Admin"));
    const banner = first.stderr();
    expect(banner).toContain(`Console    http://localhost:${first.wsPort}/`);
    expect(banner).toContain(`ws://localhost:${first.wsPort}/ws`);
    expect(banner).toContain(`domain ${first.domain}`);
    expect(banner).toContain(`Data       ${dataDir}`);
    expect(banner).toContain("seeded now");
    expect(banner).toContain("npx whaleshark token --app 10001 --user admin");
    expect(first.cli.logs.some((l) => l.msg === "demo data seeded")).toBe(true);
    expect(existsSync(join(dataDir, "demo-seeded.json"))).toBe(true);

    // The seeded users, friendships and group, read through the HTTP API as the admin.
    const users = await api(first.domain, "UserService/GetUserInfo", { userIds: ["alice", "bob", "carol"] });
    expect((users.userDataItem as Array<{ userId: string }>).map((u) => u.userId).sort()).toEqual([
      "alice",
      "bob",
      "carol",
    ]);
    const friends = await api(first.domain, "FriendshipService/GetAllFriendships", {
      operater: "alice",
      fromId: "alice",
    });
    expect(JSON.stringify(friends)).toContain('"bob"');
    expect(JSON.stringify(friends)).toContain('"carol"');
    const group = await api(first.domain, "GroupService/GetGroupInfo", { groupId: "whaleshark-demo" });
    expect((group.group as { groupName: string; ownerId: string }).groupName).toBe("WhaleShark demo");
    expect((group.group as { ownerId: string }).ownerId).toBe("alice");
    expect((group.memberList as Array<{ memberId: string }>).map((m) => m.memberId).sort()).toEqual([
      "alice",
      "bob",
      "carol",
    ]);

    // The console's config points the page at this deployment's real HTTP API port.
    const config = (await (
      await fetch(`http://127.0.0.1:${first.wsPort}/console/config.json`)
    ).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ appId: 10001, wsPath: "/ws", demoLogin: true, profile: "embedded" });
    expect(config.httpApi).toBe(`http://127.0.0.1:${first.domain.split(":")[1]}`);

    // Demo login → userSign → WebSocket login → a message to bob arrives.
    const alice = await device(first.wsPort, "alice");
    const bob = await device(first.wsPort, "bob");
    const ack = await alice.client.sendP2P({ toId: "bob", messageBody: "hello bob 🐋 你好" });
    expect(ack.code).toBe(200);
    await eventually(() => bob.received.includes("hello bob 🐋 你好"));

    // A demo-login user that did not exist is created by it and can log in.
    const zoe = await device(first.wsPort, "zoe");
    const zoeInfo = await api(first.domain, "UserService/GetUserInfo", { userIds: ["zoe"] });
    expect((zoeInfo.userDataItem as unknown[]).length).toBe(1);

    // The admin commands, first as the README shows them (default --url, so the domain's port
    // comes from the environment here): new users, a friendship, a group, dave's token.
    const cliEnv = await isolatedEnv();
    const readme = await readFile(join(repo, "README.md"), "utf8");
    const block = /<!-- console-admin-commands -->\s*```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, "README: the admin commands block").toBeDefined();
    const { stdout: shown } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", block ?? ""], {
      cwd: repo,
      env: { ...cliEnv, WHALESHARK_DOMAIN__PORT: first.domain.split(":")[1] },
      timeout: 90_000,
    });
    expect(shown).toContain("created dave\ncreated erin\ncreated frank\n");
    expect(shown).toContain("friends alice -> dave\nfriends dave -> alice\n");
    expect(shown).toMatch(/group \S+\n {2}bob: added\n {2}dave: added\n/);
    const daveSign = shown.trim().split("\n").pop() ?? "";
    expect(
      verifyUserSign({ token: daveSign, appId: APP_ID, identifier: "dave", privateKey: APP_KEY }).expiresAt,
    ).toBeGreaterThan(0);
    const again = await runCli(["user", "add", "dave", "--url", first.domain], cliEnv);
    expect(again.stdout).toBe("exists dave\n");
    const friended = await runCli(["friend", "add", "alice", "dave", "--url", first.domain], cliEnv);
    expect(friended.code).toBe(0);
    expect(friended.stdout).toContain("unchanged (already friends, or a user is unknown) alice -> dave");
    const grouped = await runCli(
      ["group", "create", "Night owls", "--owner", "alice", "--members", "dave,zoe", "--url", first.domain],
      cliEnv,
    );
    expect(grouped.code).toBe(0);
    expect(grouped.stdout).toMatch(/^group \S+\n {2}dave: added\n {2}zoe: added\n$/);
    const dave = await device(first.wsPort, "dave");
    expect((await alice.client.sendP2P({ toId: "dave", messageBody: "welcome dave" })).code).toBe(200);
    await eventually(() => dave.received.includes("welcome dave"));

    // Clear errors: a server that is not there, a refused admin.
    const down = await runCli(["user", "add", "x", "--url", "127.0.0.1:1"], cliEnv);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach the server at 127.0.0.1:1");
    const refused = await runCli(["user", "add", "x", "--url", first.domain, "--admin", "alice"], cliEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("refused with 40008");

    for (const d of [alice, bob, zoe, dave]) await d.client.logout().catch(() => undefined);
    await stop(first);

    // Second start of the same data dir: nothing seeded again, the data is still there once.
    const second = await start(env);
    running.push(second);
    await eventually(() => second.stderr().includes("Admin"));
    expect(second.stderr()).toContain("seeded at the first start");
    expect(second.cli.logs.some((l) => l.msg === "demo data seeded")).toBe(false);
    const joined = await api(second.domain, "GroupService/GetJoinedGroups", {
      operater: "bob",
      memberId: "bob",
    });
    expect(JSON.stringify(joined).match(/"groupId":"whaleshark-demo"/g)?.length).toBe(1);
    await stop(second);
  }, 240_000);
});
