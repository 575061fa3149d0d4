import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningMember } from "../../app/local-cluster.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { send } from "../http/http-client.js";
import { ADMIN_ID, APP_ID, NAMES, TestCluster } from "../support/cluster.js";
import { appClient } from "./support/app-client.js";

/**
 * The HTTP API in the distributed profile: store, domain and gateway as separate `whaleshark`
 * processes (PostgreSQL, Redis, RabbitMQ, ZooKeeper), each role answering its own services' paths
 * on its own gRPC port, with the explicit CORS allow-list the distributed profile requires.
 */

const ORIGIN = "https://chat.example.com";

describe("distributed profile: the HTTP API on each role's port", () => {
  let cluster: TestCluster;
  let domain: string;
  let store: string;
  let domainMember: RunningMember;

  beforeAll(async () => {
    cluster = await TestCluster.create({ env: { WHALESHARK_HTTP__ALLOWED_ORIGINS: ORIGIN } });
    const storeMember = await cluster.start("store", 1);
    domainMember = await cluster.start("domain", 1);
    await cluster.start("gateway", 1);
    const at = (m: RunningMember, service: string) => {
      const i = m.instances[service];
      if (i === undefined) throw new Error(`${m.nodeId} has no ${service}`);
      return `http://${i.host}:${i.port}`;
    };
    domain = at(domainMember, NAMES.domain);
    store = at(storeMember, NAMES.store);
  }, 90_000);

  afterAll(async () => {
    await cluster?.close();
  }, 30_000);

  const q = (user: string) =>
    new URLSearchParams({ appId: String(APP_ID), identifier: user, userSign: cluster.sign(user) }).toString();
  const call = async (base: string, path: string, user: string, body: Record<string, unknown>) => {
    const answer = await send(base, path, { appId: APP_ID, operater: user, ...body }, { query: q(user) });
    expect(answer.status).toBe(200);
    return answer.body;
  };

  it("serves the original's paths on the domain's and the store's ports, and gRPC beside them", async () => {
    const imported = await call(domain, "/v1/user/importUser", ADMIN_ID, {
      userData: [
        { userId: "hana", friendAllowType: 1 },
        { userId: "ivan", friendAllowType: 1 },
      ],
    });
    expect(imported).toMatchObject({ code: 200, data: { successId: ["hana", "ivan"], errorId: [] } });
    expect(
      await call(domain, "/v1/friendship/addFriend", "hana", { fromId: "hana", toItem: { toId: "ivan" } }),
    ).toMatchObject({
      code: 200,
    });
    const sent = await call(domain, "/v1/message/send", "hana", {
      fromId: "hana",
      toId: "ivan",
      messageId: "d-1",
      messageBody: "across processes",
    });
    expect(sent).toMatchObject({ code: 200, data: { messageId: "d-1" } });
    // The gateway registered in ZooKeeper: login routes to it.
    const login = await call(domain, "/v1/user/login", "hana", { userId: "hana", clientType: 1 });
    expect(login).toMatchObject({ code: 200, data: { ip: "127.0.0.1", port: expect.any(Number) } });

    let history: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      history = await call(store, "/v1/message/batchSyncMessage", "ivan", {
        userId: "ivan",
        conversations: [{ conversationId: "hana", conversationType: 1, sequence: 0 }],
      });
      const list = (history.data as { conversationList: Array<{ messages: unknown[] }> }).conversationList;
      if ((list[0]?.messages.length ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(history).toMatchObject({
      code: 200,
      data: {
        conversationList: [
          { conversationId: "hana", messages: [{ messageId: "d-1", messageBody: "across processes" }] },
        ],
      },
    });
    // Each role serves its own services only.
    expect((await send(store, "/v1/friendship/addFriend", {})).status).toBe(404);
    expect((await send(domain, "/v1/message/batchSyncMessage", {})).status).toBe(404);
    // Refusals keep the original's codes.
    expect(await send(domain, "/v1/friendship/getAllFriendShip", { fromId: "hana" })).toMatchObject({
      status: 200,
      body: { code: 60001, ok: false },
    });
    expect(
      await call(domain, "/v1/friendship/getAllFriendShip", "ivan", { operater: "hana", fromId: "hana" }),
    ).toMatchObject({
      code: 60005,
    });

    // Connect-style, and plain gRPC on the same port.
    const connect = await send(
      domain,
      "/whaleshark.v1.UserService/GetUserInfo",
      { userIds: ["hana"] },
      {
        headers: { appid: String(APP_ID), identifier: "hana", usersign: cluster.sign("hana") },
      },
    );
    expect(connect).toMatchObject({ status: 200, body: { userDataItem: [{ userId: "hana" }] } });
    const grpcAddress = domain.replace("http://", "");
    const grpcClient = appClient(cluster, "hana", grpcAddress);
    const info = await grpcClient.call(UserServiceService.getUserInfo, { userIds: ["hana"] });
    grpcClient.close();
    expect(info.userDataItem.map((u) => u.userId)).toEqual(["hana"]);
  });

  it("answers CORS for the configured origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${domain}/v1/friendship/getAllFriendShip`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect((await preflight("https://elsewhere.example.org")).status).toBe(403);
  });
});
