import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, APP, APP_KEY, type Cluster, startCluster } from "../messaging/support/cluster.js";
import { type HttpAnswer, send, signedQuery } from "./http-client.js";

/**
 * Every one of the original's 51 HTTP paths (spec §6.3 #1–#48 on the domain's port, §5.11
 * #49–#51 on the store's), driven with the original's request JSON (RequestBase + the original
 * keys) and checked against the ResponseVO, with an error case per area, on the roles as the
 * distributed profile runs them (PostgreSQL, Redis, RabbitMQ; tests/messaging/support/cluster.ts).
 * Each role answers on its own gRPC port: HTTP/1.1 there is the HTTP API.
 */

const [ANN, BOB, CAT, DAN, EVE] = ["ann", "bob", "cat", "dan", "eve"];

let cluster: Cluster;
let domain: string;
let store: string;

/** POSTs `body` (RequestBase filled: appId, operater = `as`) to `path`, signed as `as`. */
async function call(
  path: string,
  body: Record<string, unknown>,
  as = ANN,
  opts: { base?: string; method?: string } = {},
): Promise<HttpAnswer["body"]> {
  const answer = await send(
    opts.base ?? domain,
    path,
    { appId: APP, operater: as, clientType: 1, imei: `${as}-web`, ...body },
    { query: signedQuery(APP, as, APP_KEY), ...(opts.method === undefined ? {} : { method: opts.method }) },
  );
  expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
  return answer.body;
}

/** As {@link call}, expecting success; returns `data`. */
async function ok(
  path: string,
  body: Record<string, unknown>,
  as = ANN,
  opts: { base?: string; method?: string } = {},
) {
  const vo = await call(path, body, as, opts);
  expect(vo, path).toMatchObject({ code: 200, msg: "success", ok: true });
  return vo.data as Record<string, unknown> & unknown[];
}

/** As {@link call}, expecting the business error `code` with `data: null`. */
async function refused(path: string, body: Record<string, unknown>, code: number, as = ANN, base?: string) {
  const vo = await call(path, body, as, base === undefined ? {} : { base });
  expect(vo, path).toMatchObject({ code, ok: false, data: null });
  expect(typeof vo.msg).toBe("string");
}

beforeAll(async () => {
  cluster = await startCluster({ gateways: 1 });
  domain = `http://${cluster.domain.grpcAddress}`;
  store = `http://${cluster.store.grpcAddress}`;
}, 90_000);

afterAll(async () => {
  await cluster?.close();
}, 30_000);

const ids = { request: 0, group: "", importedGroup: "" };

describe("the original's HTTP API, every path", () => {
  it("users: /v1/user/* and /v1/user/data/* (#1–#7)", async () => {
    const imported = await ok(
      "/v1/user/importUser",
      {
        userData: [
          { userId: ANN, nickName: "Ann", userSex: "2", friendAllowType: 1 },
          { userId: BOB, nickName: "Bob", friendAllowType: 1 },
          { userId: CAT, nickName: "Cat", friendAllowType: 1 },
          { userId: DAN, nickName: "Dan", friendAllowType: 2 },
          { userId: EVE, nickName: "Eve" },
        ],
      },
      ADMIN,
    );
    expect(imported).toEqual({ successId: [ANN, BOB, CAT, DAN, EVE], errorId: [] });
    // Error case of the area: importing is for app admins.
    const notAdmin = await call("/v1/user/importUser", { userData: [{ userId: "zed" }] }, ANN);
    expect(notAdmin.ok).toBe(false);

    expect(await ok("/v1/user/deleteUser", { userId: [EVE, "nobody"] }, ADMIN)).toEqual({
      successId: [EVE],
      errorId: ["nobody"],
    });
    // Each role of this harness has its own in-process discovery, so the domain knows no gateway:
    // 71000 (the embedded test, test/http/embedded-api.test.ts, gets an address).
    await refused("/v1/user/login", { userId: ANN, clientType: 1 }, 71000);
    const sequences = await ok("/v1/user/getUserSequence", { userId: ANN }, ANN, { method: "GET" });
    expect(typeof sequences).toBe("object");

    const info = await ok("/v1/user/data/getUserInfo", { userIds: [ANN, "nobody"] });
    expect(info).toMatchObject({
      userDataItem: [{ userId: ANN, nickName: "Ann", userSex: "2" }],
      failUser: ["nobody"],
    });
    expect(await ok("/v1/user/data/modifyUserInfo", { userId: ANN, nickName: "Annie" })).toBeNull();
    expect(await ok("/v1/user/data/getSingleUserInfo", { userId: ANN })).toMatchObject({
      userId: ANN,
      nickName: "Annie",
      appId: APP,
    });
    await refused("/v1/user/data/getSingleUserInfo", { userId: EVE }, 20001);
  });

  it("friendships: /v1/friendship/* (#8–#19)", async () => {
    expect(
      await ok(
        "/v1/friendship/importFriendShip",
        { fromId: CAT, friendItem: [{ toId: DAN, remark: "d" }] },
        ADMIN,
      ),
    ).toEqual({ successId: [DAN], errorId: [] });
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ toId: `u${i}` }));
    await refused("/v1/friendship/importFriendShip", { fromId: CAT, friendItem: tooMany }, 30000, ADMIN);

    await ok("/v1/friendship/addFriend", {
      fromId: ANN,
      toItem: { toId: BOB, remark: "bobby", addSource: "qr" },
    });
    await refused("/v1/friendship/addFriend", { fromId: ANN, toItem: { toId: BOB } }, 30002);
    expect(
      await ok("/v1/friendship/updateFriend", { fromId: ANN, toItem: { toId: BOB, remark: "Bob B." } }),
    ).toBeNull();
    const all = await ok("/v1/friendship/getAllFriendShip", { fromId: ANN });
    expect(all).toEqual([expect.objectContaining({ fromId: ANN, toId: BOB, remark: "Bob B.", status: 1 })]);
    expect(await ok("/v1/friendship/getRelation", { fromId: ANN, toId: BOB })).toMatchObject({
      toId: BOB,
      status: 1,
    });
    await refused("/v1/friendship/getRelation", { fromId: ANN, toId: CAT }, 30008);
    expect(await ok("/v1/friendship/checkFriend", { fromId: ANN, toIds: [BOB, CAT], checkType: 1 })).toEqual([
      { fromId: ANN, toId: BOB, status: 1 },
      { fromId: ANN, toId: CAT, status: 0 },
    ]);

    expect(await ok("/v1/friendship/addBlack", { fromId: ANN, toId: CAT })).toBeNull();
    await refused("/v1/friendship/addBlack", { fromId: ANN, toId: CAT }, 30006);
    expect(await ok("/v1/friendship/checkBlck", { fromId: ANN, toIds: [CAT, BOB], checkType: 1 })).toEqual([
      { fromId: ANN, toId: CAT, status: 1 },
      { fromId: ANN, toId: BOB, status: 0 },
    ]);
    expect(await ok("/v1/friendship/deleteBlack", { fromId: ANN, toId: CAT })).toBeNull();
    await refused("/v1/friendship/deleteBlack", { fromId: ANN, toId: CAT }, 30010);

    const synced = await ok("/v1/friendship/syncFriendShipList", { lastSequence: 0, maxLimit: 100 });
    expect(synced).toMatchObject({ completed: true, maxSequence: expect.any(Number) });
    expect((synced.dataList as unknown[]).length).toBeGreaterThan(0);

    expect(await ok("/v1/friendship/deleteAllFriend", { fromId: CAT, toId: DAN }, CAT)).toBeNull();
    expect(await ok("/v1/friendship/getRelation", { fromId: CAT, toId: DAN }, CAT)).toMatchObject({
      status: 2,
    });
    // Only the operator's own relations (or an app admin's choice).
    await refused("/v1/friendship/getRelation", { fromId: CAT, toId: DAN }, 60005, ANN);
    // POST only, as the original's @PostMapping.
    const get = await send(domain, "/v1/friendship/getAllFriendShip", undefined, { method: "GET" });
    expect(get.status).toBe(405);
  });

  it("friend requests: /v1/friendshipRequest/* (#20–#22)", async () => {
    // dan needs approval (friendAllowType 2): a request is made.
    expect(
      await ok("/v1/friendship/addFriend", { fromId: ANN, toItem: { toId: DAN, addWording: "hi" } }),
    ).toEqual({
      requestSent: true,
    });
    const requests = await ok("/v1/friendshipRequest/getFriendRequest", { fromId: DAN }, DAN);
    expect(requests).toEqual([
      expect.objectContaining({ fromId: ANN, toId: DAN, addWording: "hi", approveStatus: 0 }),
    ]);
    ids.request = (requests[0] as { id: number }).id;
    expect(typeof ids.request).toBe("number");
    expect(await ok("/v1/friendshipRequest/readFriendShipRequestReq", { fromId: DAN }, DAN)).toBeNull();
    // Only the receiver approves (30011), and only a pending request (30012).
    await refused("/v1/friendshipRequest/approveFriendRequest", { id: ids.request, status: 1 }, 30011, ANN);
    expect(
      await ok("/v1/friendshipRequest/approveFriendRequest", { id: ids.request, status: 1 }, DAN),
    ).toBeNull();
    await refused("/v1/friendshipRequest/approveFriendRequest", { id: ids.request, status: 1 }, 30012, DAN);
    expect(await ok("/v1/friendship/getRelation", { fromId: DAN, toId: ANN }, DAN)).toMatchObject({
      status: 1,
    });
  });

  it("friend groups: /v1/friendship/group/* (#23–#26)", async () => {
    const added = await ok("/v1/friendship/group/add", { fromId: ANN, groupName: "work", toIds: [] });
    expect(added).toMatchObject({ groupId: expect.any(Number) });
    await refused("/v1/friendship/group/add", { fromId: ANN, groupName: "work" }, 30015);
    expect(
      await ok("/v1/friendship/group/member/add", { fromId: ANN, groupName: "work", toIds: [BOB, DAN] }),
    ).toEqual({
      successId: [BOB, DAN],
      errorId: [],
    });
    expect(
      await ok("/v1/friendship/group/member/del", { fromId: ANN, groupName: "work", toIds: [DAN] }),
    ).toEqual([DAN]);
    expect(
      await ok("/v1/friendship/group/del", { fromId: ANN, groupName: ["work"] }, ANN, { method: "DELETE" }),
    ).toBeNull();
    await refused("/v1/friendship/group/member/add", { fromId: ANN, groupName: "work", toIds: [BOB] }, 30016);
  });

  it("messages: /v1/message/* on the domain (#45–#48)", async () => {
    const sent = await ok("/v1/message/send", {
      messageId: "m-1",
      fromId: ANN,
      toId: BOB,
      messageRandom: 7,
      messageTime: Date.now(),
      messageBody: '{"type":1,"content":"hello bob"}',
    });
    expect(sent).toMatchObject({
      messageId: "m-1",
      messageKey: expect.any(Number),
      messageTime: expect.any(Number),
    });
    // No relation between cat and bob: the send checks refuse it.
    await refused(
      "/v1/message/send",
      { messageId: "m-2", fromId: CAT, toId: BOB, messageBody: "x", messageTime: Date.now() },
      30008,
      CAT,
    );
    expect(await ok("/v1/message/p2pCheckSend", { fromId: ANN, toId: BOB })).toMatchObject({ ok: true });
    // The offline queue is written beside the ACK's durable step: poll briefly.
    let offline = await ok("/v1/message/syncOfflineMessageList", { lastSequence: 0, maxLimit: 100 }, BOB);
    for (let i = 0; i < 100 && (offline.dataList as unknown[]).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      offline = await ok("/v1/message/syncOfflineMessageList", { lastSequence: 0, maxLimit: 100 }, BOB);
    }
    expect(offline).toMatchObject({ completed: expect.any(Boolean) });
    expect((offline.dataList as Array<{ messageBody: string }>).map((m) => m.messageBody)).toContain(
      '{"type":1,"content":"hello bob"}',
    );
  });

  it("groups and members: /v1/group/* and /v1/group/member/* (#27–#41)", async () => {
    const created = await ok("/v1/group/createGroup", {
      groupName: "crew",
      groupType: 1,
      introduction: "us",
      member: [{ memberId: BOB, role: 0, alias: "b" }],
    });
    ids.group = created.groupId as string;
    expect(ids.group).toMatch(/^[0-9a-f]{32}$/);
    const imported = await ok(
      "/v1/group/importGroup",
      { groupName: "imported", ownerId: CAT, groupType: 2 },
      ADMIN,
    );
    ids.importedGroup = imported.groupId as string;
    await refused("/v1/group/importGroup", { groupName: "no owner", groupType: 2 }, 40016, ADMIN);

    const info = await ok("/v1/group/getGroupInfo", { groupId: ids.group });
    expect(info).toMatchObject({ group: { groupId: ids.group, groupName: "crew", ownerId: ANN } });
    await refused("/v1/group/getGroupInfo", { groupId: "f".repeat(32) }, 40000);
    expect(
      await ok("/v1/group/update", { groupId: ids.group, groupName: "crew!" }, ANN, { method: "PUT" }),
    ).toBeNull();
    const joined = await ok("/v1/group/getJoinedGroup", { memberId: ANN });
    expect(joined).toMatchObject({ totalCount: 1, groupList: [{ groupId: ids.group, groupName: "crew!" }] });
    const synced = await ok("/v1/group/syncJoinedGroup", { lastSequence: 0, maxLimit: 100 });
    expect((synced.dataList as Array<{ groupId: string }>).map((g) => g.groupId)).toContain(ids.group);

    expect(
      await ok(
        "/v1/group/member/importGroupMember",
        { groupId: ids.group, members: [{ memberId: CAT }] },
        ADMIN,
      ),
    ).toEqual([expect.objectContaining({ memberId: CAT, result: 0 })]);
    expect(await ok("/v1/group/member/add", { groupId: ids.group, members: [{ memberId: DAN }] })).toEqual([
      expect.objectContaining({ memberId: DAN, result: 0 }),
    ]);
    expect(
      await ok("/v1/group/member/update", { groupId: ids.group, memberId: DAN, alias: "Danny" }),
    ).toBeNull();
    expect(
      await ok("/v1/group/member/speak", { groupId: ids.group, memberId: DAN, speakDate: 60_000 }),
    ).toBeNull();
    expect(await ok("/v1/group/member/remove", { groupId: ids.group, memberId: DAN })).toBeNull();
    await refused("/v1/group/member/remove", { groupId: ids.group, memberId: DAN }, 40006);

    expect(await ok("/v1/group/forbidSendMessage", { groupId: ids.group, mute: 1 })).toBeNull();
    expect(await ok("/v1/group/forbidSendMessage", { groupId: ids.group, mute: 0 })).toBeNull();
    const groupSent = await ok("/v1/group/sendMessage", {
      messageId: "g-1",
      fromId: ANN,
      groupId: ids.group,
      messageBody: '{"type":1,"content":"hello crew"}',
      messageTime: Date.now(),
    });
    expect(groupSent).toMatchObject({ messageId: "g-1", messageSequence: expect.any(Number) });
    expect(
      await ok("/v1/message/groupCheckSend", { fromId: ANN, toId: ids.group, conversationType: 1 }),
    ).toMatchObject({ ok: true });

    expect(await ok("/v1/group/transferGroup", { groupId: ids.group, ownerId: BOB })).toBeNull();
    await refused("/v1/group/transferGroup", { groupId: ids.group, ownerId: ANN }, 40009);
    expect(await ok("/v1/group/destroyGroup", { groupId: ids.importedGroup }, CAT)).toBeNull();
    await refused("/v1/group/destroyGroup", { groupId: ids.importedGroup }, 40018, CAT);
  });

  it("conversations: /v1/conversation/* (#42–#44)", async () => {
    const synced = await ok("/v1/conversation/syncConversationList", { lastSequence: 0, maxLimit: 100 });
    const conversationIds = (synced.dataList as Array<{ conversationId: string }>).map(
      (c) => c.conversationId,
    );
    expect(conversationIds).toContain(`0_${ANN}_${BOB}`);
    expect(
      await ok("/v1/conversation/updateConversation", {
        conversationId: `0_${ANN}_${BOB}`,
        fromId: ANN,
        isTop: 1,
      }),
    ).toBeNull();
    await refused(
      "/v1/conversation/updateConversation",
      { conversationId: `0_${ANN}_${BOB}`, fromId: ANN },
      50000,
    );
    expect(
      await ok("/v1/conversation/deleteConversation", { conversationId: `0_${ANN}_${BOB}`, fromId: ANN }),
    ).toBeNull();
  });

  it("history on the store's port: /v1/message/syncP2PMessage, syncGroupMessage, batchSyncMessage (#49–#51)", async () => {
    // The store writes persistence jobs in batches after the ACK: wait until ann's message is there.
    let p2p: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      p2p = await ok(
        "/v1/message/syncP2PMessage",
        { userId: ANN, toId: BOB, lastSequence: 0, maxLimit: 100 },
        ANN,
        {
          base: store,
        },
      );
      if ((p2p.dataList as unknown[]).length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(p2p).toMatchObject({
      completed: true,
      dataList: [expect.objectContaining({ fromId: ANN, toId: BOB })],
    });
    const group = await ok(
      "/v1/message/syncGroupMessage",
      { userId: ANN, groupId: ids.group, lastSequence: 0, maxLimit: 100 },
      ANN,
      { base: store },
    );
    expect((group.dataList as Array<{ messageId: string }>).map((m) => m.messageId)).toContain("g-1");
    // batchSyncMessage in the original's numbering (spec §5.11: 1 P2P, 2 group), echoed back;
    // any other type is skipped without an error, as the original did.
    const batch = await ok(
      "/v1/message/batchSyncMessage",
      {
        userId: ANN,
        maxCount: 100,
        conversations: [
          { conversationId: BOB, conversationType: 1, sequence: 0 },
          { conversationId: BOB, conversationType: 0, sequence: 0 },
          { conversationId: ids.group, conversationType: 2, sequence: 0 },
          { conversationId: ids.group, conversationType: 3, sequence: 0 },
        ],
      },
      ANN,
      { base: store },
    );
    expect(batch.conversationList).toEqual([
      expect.objectContaining({
        conversationId: BOB,
        conversationType: 1,
        completed: true,
        maxSequence: expect.any(Number),
        messages: [expect.objectContaining({ messageId: "m-1" })],
      }),
      expect.objectContaining({
        conversationId: ids.group,
        conversationType: 2,
        completed: true,
        maxSequence: expect.any(Number),
        messages: [expect.objectContaining({ messageId: "g-1" })],
      }),
    ]);
    expect(
      await ok(
        "/v1/message/batchSyncMessage",
        { userId: ANN, conversations: [{ conversationId: BOB, conversationType: 0, sequence: 0 }] },
        ANN,
        { base: store },
      ),
    ).toEqual({ conversationList: [] });
    // The gRPC method in the contracts' numbering (0 P2P, 1 GROUP) stays at its Connect path.
    const connect = await send(
      store,
      "/whaleshark.v1.HistoryService/BatchSyncMessages",
      {
        appId: APP,
        operater: ANN,
        userId: ANN,
        conversations: [
          { conversationId: BOB, conversationType: 0, sequence: 0 },
          { conversationId: ids.group, conversationType: 1, sequence: 0 },
        ],
      },
      { query: signedQuery(APP, ANN, APP_KEY) },
    );
    expect(connect.status, JSON.stringify(connect.body)).toBe(200);
    expect(connect.body.conversationList).toEqual([
      expect.objectContaining({
        conversationId: BOB,
        messages: [expect.objectContaining({ messageId: "m-1" })],
      }),
      expect.objectContaining({
        conversationId: ids.group,
        conversationType: 1,
        messages: [expect.objectContaining({ messageId: "g-1" })],
      }),
    ]);
    // eve was deleted and never in the group: not a member.
    await refused(
      "/v1/message/syncGroupMessage",
      { userId: DAN, groupId: ids.group, lastSequence: 0, maxLimit: 100 },
      40006,
      DAN,
      store,
    );
    // The domain's paths are not the store's.
    expect((await send(store, "/v1/friendship/addFriend", {})).status).toBe(404);
  });

  it("refuses unauthenticated, badly signed, expired and acting-for-another-user calls with 60000–60005", async () => {
    const body = { appId: APP, operater: ANN, fromId: ANN };
    const sign = (q: string) => send(domain, "/v1/friendship/getAllFriendShip", body, { query: q });
    const good = new URLSearchParams(signedQuery(APP, ANN, APP_KEY));
    const expired = signedQuery(APP, ANN, APP_KEY, {
      ttlSeconds: 10,
      now: Math.floor(Date.now() / 1000) - 100,
    });
    const cases: Array<[string, number]> = [
      ["", 60001],
      [`appId=${APP}`, 60002],
      [`appId=${APP}&identifier=${ANN}`, 60000],
      [`appId=${APP}&identifier=${ANN}&userSign=${encodeURIComponent(`x${good.get("userSign")}`)}`, 60003],
      [expired, 60004],
      [signedQuery(APP, ANN, "another-key-entirely"), 60003],
      [`appId=${APP}&identifier=${BOB}&userSign=${encodeURIComponent(good.get("userSign") ?? "")}`, 60005],
      [signedQuery(APP, BOB, APP_KEY), 60005], // bob signed, acting as ann
    ];
    for (const [query, code] of cases) {
      const answer = await sign(query);
      expect({ query, status: answer.status, code: answer.body.code, ok: answer.body.ok }).toEqual({
        query,
        status: 200,
        code,
        ok: false,
      });
    }
    const storeAnswer = await send(store, "/v1/message/syncP2PMessage", { userId: ANN, toId: BOB });
    expect(storeAnswer.body).toMatchObject({ code: 60001, ok: false });
    // An app admin may act for a user of the app.
    const asAdmin = await send(domain, "/v1/friendship/getAllFriendShip", body, {
      query: signedQuery(APP, ADMIN, APP_KEY),
    });
    expect(asAdmin.body).toMatchObject({ code: 200 });
  });
});
