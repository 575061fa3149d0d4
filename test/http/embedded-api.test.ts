import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedEnv, type RunningCli, startCli } from "../support/cli.js";
import { ADMIN, APP_ID, APP_KEY } from "../support/harness/app.js";
import { send, signedQuery } from "./http-client.js";

/**
 * The HTTP API of `whaleshark start` (`npm start`, the embedded profile): the original browser
 * client wechat-plus.html, served from another origin, replays its calls with CORS preflights
 * and gets what a chat page shows (contacts, groups, conversations, offline messages, history);
 * and the README's curl examples run as written.
 */

const APP = APP_ID;
const KEY = APP_KEY;
const PAGE_ORIGIN = "http://localhost:8080"; // where wechat-plus.html is served from
const APPS = JSON.stringify({ [APP]: { privateKey: KEY, adminIds: [ADMIN] } });
const repo = fileURLToPath(new URL("../..", import.meta.url));

let cli: RunningCli;
let env: NodeJS.ProcessEnv;
let domain: string;
let store: string;

beforeAll(async () => {
  env = await isolatedEnv({ WHALESHARK_APPS: APPS });
  cli = startCli(["start"], env);
  const started = await cli.waitForLog((l) => l.msg === "whaleshark started", 90_000);
  const roles = Object.fromEntries((started.roles as string[]).map((r) => r.split("@") as [string, string]));
  domain = `http://${roles.domain}`;
  store = `http://${roles.store}`;
}, 120_000);

afterAll(async () => {
  cli?.child.kill("SIGTERM");
  await cli?.exited;
}, 30_000);

/** A call from the page: Origin header, the original's query authentication. */
async function fromPage(base: string, path: string, user: string, body: Record<string, unknown>) {
  // The browser's preflight first: a JSON POST to another origin is not a "simple" request.
  const preflight = await fetch(`${base}${path}`, {
    method: "OPTIONS",
    headers: {
      origin: PAGE_ORIGIN,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    },
  });
  expect(preflight.status, `preflight ${path}`).toBe(204);
  expect(preflight.headers.get("access-control-allow-origin")).toBe(PAGE_ORIGIN);
  expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
  expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type");
  const answer = await send(
    base,
    path,
    { appId: APP, operater: user, clientType: 1, imei: "web", ...body },
    {
      query: signedQuery(APP, user, KEY),
      headers: { origin: PAGE_ORIGIN },
    },
  );
  expect(answer.status).toBe(200);
  expect(answer.headers.get("access-control-allow-origin")).toBe(PAGE_ORIGIN);
  expect(answer.body, path).toMatchObject({ code: 200, ok: true });
  return answer.body.data as Record<string, unknown> & unknown[];
}

describe("whaleshark start: the HTTP API on 18000 / 18001", () => {
  it("serves the wechat-plus page's calls from another origin with the data a chat page needs", async () => {
    const admin = (path: string, body: Record<string, unknown>) => fromPage(domain, path, ADMIN, body);
    await admin("/v1/user/importUser", {
      userData: [
        { userId: "lld", nickName: "lld", friendAllowType: 1 },
        { userId: "bantanger", nickName: "bantanger", friendAllowType: 1 },
      ],
    });
    // "add friend" on the page, then a group and a message, as the page's user lld.
    const lld = (path: string, body: Record<string, unknown>, base = domain) =>
      fromPage(base, path, "lld", body);
    expect(
      await lld("/v1/friendship/addFriend", { fromId: "lld", toItem: { toId: "bantanger", remark: "b" } }),
    ).toEqual({
      requestSent: false,
    });
    const group = await lld("/v1/group/createGroup", {
      groupName: "whales",
      groupType: 1,
      member: [{ memberId: "bantanger" }],
    });
    await lld("/v1/message/send", {
      messageId: "web-1",
      fromId: "lld",
      toId: "bantanger",
      messageBody: '{"type":1,"content":"hi from the page"}',
      messageTime: Date.now(),
    });
    const login = await lld("/v1/user/login", { userId: "lld", clientType: 1 });
    expect(login).toMatchObject({ ip: expect.any(String), port: expect.any(Number) });

    // The page of bantanger opens: its seven calls.
    const page = (path: string, body: Record<string, unknown>, base = domain) =>
      fromPage(base, path, "bantanger", body);
    // The offline queue is written beside the ACK's durable step: poll briefly.
    let offline = await page("/v1/message/syncOfflineMessageList", { lastSequence: 0, maxLimit: 100 });
    for (let i = 0; i < 100 && (offline.dataList as unknown[]).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      offline = await page("/v1/message/syncOfflineMessageList", { lastSequence: 0, maxLimit: 100 });
    }
    expect(offline.dataList).toEqual([
      expect.objectContaining({ fromId: "lld", messageBody: '{"type":1,"content":"hi from the page"}' }),
    ]);
    const friends = await page("/v1/friendship/syncFriendShipList", { lastSequence: 0, maxLimit: 100 });
    expect(friends.dataList).toEqual([
      expect.objectContaining({ fromId: "bantanger", toId: "lld", status: 1 }),
    ]);
    const groups = await page("/v1/group/syncJoinedGroup", { lastSequence: 0, maxLimit: 100 });
    expect(groups.dataList).toEqual([
      expect.objectContaining({ groupId: group.groupId, groupName: "whales" }),
    ]);
    expect(await page("/v1/friendship/getAllFriendShip", { fromId: "bantanger" })).toEqual([
      expect.objectContaining({ toId: "lld" }),
    ]);
    expect(await page("/v1/group/getJoinedGroup", { memberId: "bantanger" })).toMatchObject({
      totalCount: 1,
      groupList: [{ groupId: group.groupId }],
    });
    const conversations = await page("/v1/conversation/syncConversationList", {
      lastSequence: 0,
      maxLimit: 100,
    });
    expect(
      (conversations.dataList as Array<{ conversationId: string }>).map((c) => c.conversationId),
    ).toEqual(expect.arrayContaining([`1_bantanger_${group.groupId}`]));
    // A group message too (after the offline list above), for the page's history of both kinds.
    await lld("/v1/group/sendMessage", {
      messageId: "web-g1",
      fromId: "lld",
      groupId: group.groupId,
      messageBody: '{"type":1,"content":"hi whales"}',
      messageTime: Date.now(),
    });
    let history: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      history = await page(
        "/v1/message/batchSyncMessage",
        {
          userId: "bantanger",
          maxCount: 100,
          // The page's numbering (the original store's): 1 P2P, 2 group; anything else is skipped.
          conversations: [
            { conversationId: "lld", conversationType: 1, sequence: 0 },
            { conversationId: group.groupId, conversationType: 2, sequence: 0 },
            { conversationId: "lld", conversationType: 0, sequence: 0 },
          ],
        },
        store,
      );
      const list = history.conversationList as Array<{ messages: unknown[] }>;
      if ((list[0]?.messages.length ?? 0) > 0 && (list[1]?.messages.length ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(history.conversationList).toEqual([
      expect.objectContaining({
        conversationId: "lld",
        conversationType: 1,
        messages: [expect.objectContaining({ messageId: "web-1" })],
      }),
      expect.objectContaining({
        conversationId: group.groupId,
        conversationType: 2,
        messages: [expect.objectContaining({ messageId: "web-g1", fromId: "lld" })],
      }),
    ]);

    // Per-route series on each role's /metrics.
    const scrape = async (role: string) => {
      const line = await cli.waitForLog(
        (l) => l.msg === "metrics endpoint listening" && l.role === role,
        1000,
      );
      return (await fetch(`http://127.0.0.1:${line.port as number}/metrics`)).text();
    };
    expect(await scrape("domain")).toMatch(
      /whaleshark_http_requests_total\{route="\/v1\/friendship\/addFriend",status="200",code="200"[^}]*\} 1/,
    );
    expect(await scrape("store")).toMatch(
      /whaleshark_http_requests_total\{route="\/v1\/message\/batchSyncMessage"/,
    );
  });

  it("runs the README's curl examples as written", async () => {
    const readme = await readFile(`${repo}/README.md`, "utf8");
    const block = /<!-- http-api-examples -->\s*```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, "README: the curl examples block").toBeDefined();
    // The README names the default ports; this start runs on ephemeral ones.
    const script = (block ?? "")
      .replaceAll("127.0.0.1:18000", domain.replace("http://", ""))
      .replaceAll("127.0.0.1:18001", store.replace("http://", ""));
    const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], {
      cwd: repo,
      env: { ...env, WHALESHARK_APPS: APPS },
      timeout: 60_000,
    });
    const answers = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The original paths answer ResponseVO (every one a success); the Connect-style call answers
    // the response message itself.
    const vos = answers.filter((a) => "ok" in a);
    expect(vos.length).toBeGreaterThanOrEqual(5);
    expect(vos.map((a) => a.code)).toEqual(vos.map(() => 200));
    expect(answers.filter((a) => !("ok" in a))).toEqual([
      {
        userDataItem: [expect.objectContaining({ userId: "u1" }), expect.objectContaining({ userId: "u2" })],
      },
    ]);
  }, 60_000);
});
