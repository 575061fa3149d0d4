import { describe, expect, it } from "vitest";
import { ConversationList } from "./conversations.js";
import { applyJoinGroup, decideJoinRequest, getJoinRequests } from "./groups.js";
import { ApiError, HttpApi } from "./http-api.js";

interface Call {
  url: URL;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** A fetch that records each call and answers from `answer` (status, JSON, headers). */
function fakeFetch(
  answer: (call: Call) => { status?: number; json: unknown; headers?: Record<string, string> },
) {
  const calls: Call[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const call = {
      url: new URL(String(input)),
      body: JSON.parse(String(init?.body ?? "{}")) as Record<string, unknown>,
      headers: init?.headers as Record<string, string>,
    };
    calls.push(call);
    const a = answer(call);
    return new Response(JSON.stringify(a.json), { status: a.status ?? 200, headers: a.headers });
  }) as typeof fetch;
  return { calls, f };
}

function api(f: typeof fetch, userSign: string | (() => string) = "sign-1"): HttpApi {
  return new HttpApi({
    baseUrl: "http://127.0.0.1:18000/",
    appId: 10001,
    userId: "alice",
    userSign,
    fetch: f,
  });
}

describe("HttpApi", () => {
  it("posts proto-JSON to the Connect route with the credentials in the query and RequestBase filled", async () => {
    const { calls, f } = fakeFetch(() => ({ json: { ok: 1 } }));
    let n = 0;
    await expect(
      api(f, () => `sign-${++n}`).call("UserService", "GetUserInfo", { userIds: ["bob"] }),
    ).resolves.toEqual({ ok: 1 });
    const [call] = calls;
    expect(call?.url.pathname).toBe("/whaleshark.v1.UserService/GetUserInfo");
    expect(Object.fromEntries(call?.url.searchParams ?? [])).toEqual({
      appId: "10001",
      identifier: "alice",
      userSign: "sign-1",
    });
    expect(call?.body).toEqual({ appId: 10001, operater: "alice", userIds: ["bob"] });
    expect(call?.headers["content-type"]).toBe("application/json");
  });

  it("turns a Connect error into ApiError with the business code, never the userSign", async () => {
    const { f } = fakeFetch(() => ({
      status: 403,
      json: { code: "permission_denied", message: "not a manager" },
      headers: { "whaleshark-code": "40007" },
    }));
    const error = (await api(f, "secret-sign")
      .call("GroupMemberService", "GetJoinRequests")
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 40007, httpStatus: 403 });
    expect(error.message).toBe("40007 not a manager");
  });

  it("reports a transport failure as code 0 without the URL (it carries the userSign)", async () => {
    const f = (async () => {
      throw new TypeError("fetch failed http://127.0.0.1:18000/?userSign=secret-sign");
    }) as unknown as typeof fetch;
    const error = (await api(f, "x")
      .call("A", "B")
      .catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe(0);
    expect(error.message).toMatch(/^A\/B: /);
    expect(() => new HttpApi({ baseUrl: "ftp://x", appId: 1, userId: "a", userSign: "s", fetch: f })).toThrow(
      /baseUrl/,
    );
  });
});

describe("ConversationList", () => {
  it("syncs incrementally from the highest sequence, pages until completed, reads proto-JSON int64 strings", async () => {
    const rows = [
      { conversationId: "0_alice_bob", toId: "bob", sequence: "3", unreadCount: "2", readSequence: "1" },
      { conversationId: "1_alice_g1", conversationType: 1, toId: "g1", sequence: "5", isTop: 1 },
      { conversationId: "0_alice_carol", toId: "carol", sequence: "7", unreadCount: 4, isMute: 1 },
    ];
    const { calls, f } = fakeFetch((call) => {
      const after = Number(call.body.lastSequence);
      const page = rows.filter((r) => Number(r.sequence) > after).slice(0, 2);
      const completed = rows.filter((r) => Number(r.sequence) > after).length <= 2;
      return { json: completed ? { dataList: page, completed: true } : { dataList: page } };
    });
    const list = new ConversationList(api(f), { pageSize: 2 });
    const changed = await list.sync();
    expect(changed.map((c) => c.toId)).toEqual(["bob", "g1", "carol"]);
    expect(calls.map((c) => c.body.lastSequence)).toEqual([0, 5]);
    expect(list.cursor).toBe(7);
    // Pinned first, then most recently moved; muted ones do not count in the total.
    expect(list.list().map((c) => c.toId)).toEqual(["g1", "carol", "bob"]);
    expect(list.get(0, "bob")).toMatchObject({ unreadCount: 2, readSequence: 1, conversationType: 0 });
    expect(list.totalUnread).toBe(2);

    // bob's conversation moves (a read); a deleted one leaves the list.
    rows.push({
      conversationId: "0_alice_bob",
      toId: "bob",
      sequence: "8",
      unreadCount: "0",
      readSequence: "3",
    });
    rows.push({ conversationId: "0_alice_carol", toId: "carol", sequence: "9", delFlag: 1 } as never);
    await list.sync();
    expect(calls.at(-1)?.body.lastSequence).toBe(7);
    expect(list.get(0, "bob")?.unreadCount).toBe(0);
    expect(list.get(0, "carol")).toBeUndefined();
    expect(list.cursor).toBe(9);
  });

  it("stops on an answer that makes no progress, and refuses a bad page size", async () => {
    const { calls, f } = fakeFetch(() => ({ json: { dataList: [{ conversationId: "x", sequence: "0" }] } }));
    await new ConversationList(api(f)).sync();
    expect(calls).toHaveLength(1);
    expect(() => new ConversationList(api(f), { pageSize: 101 })).toThrow(/pageSize/);
  });
});

describe("join requests", () => {
  it("applies, lists (enum names or numbers) and decides through GroupMemberService", async () => {
    const { calls, f } = fakeFetch((call) => {
      if (call.url.pathname.endsWith("/ApplyJoinGroup")) return { json: {} };
      if (call.url.pathname.endsWith("/GetJoinRequests")) {
        return {
          json: {
            requests: [
              { groupId: "g1", applicantId: "carol", remark: "hi", createTime: "17" },
              {
                groupId: "g1",
                applicantId: "dave",
                status: "JOIN_REQUEST_STATUS_REJECTED",
                handledBy: "alice",
              },
              { groupId: "g1", applicantId: "erin", status: 1 },
            ],
          },
        };
      }
      return { json: {} };
    });
    const a = api(f);
    await expect(applyJoinGroup(a, { groupId: "g1", remark: "let me in" })).resolves.toEqual({
      joined: false,
    });
    const requests = await getJoinRequests(a, { groupId: "g1" });
    expect(requests.map((r) => [r.applicantId, r.status])).toEqual([
      ["carol", "pending"],
      ["dave", "rejected"],
      ["erin", "approved"],
    ]);
    expect(requests[0]?.createTime).toBe(17);
    await decideJoinRequest(a, { groupId: "g1", applicantId: "carol", approve: true });
    expect(calls.map((c) => c.url.pathname.split("/").pop())).toEqual([
      "ApplyJoinGroup",
      "GetJoinRequests",
      "DecideJoinRequest",
    ]);
    expect(calls[0]?.body).toMatchObject({ groupId: "g1", remark: "let me in" });
    expect(calls[2]?.body).toMatchObject({ groupId: "g1", applicantId: "carol", approve: true });
  });

  it("refuses bad input before calling", async () => {
    const { calls, f } = fakeFetch(() => ({ json: {} }));
    await expect(applyJoinGroup(api(f), { groupId: "" })).rejects.toThrow(/groupId/);
    await expect(applyJoinGroup(api(f), { groupId: "g", remark: "x".repeat(201) })).rejects.toThrow(/remark/);
    await expect(decideJoinRequest(api(f), { groupId: "g", applicantId: "", approve: true })).rejects.toThrow(
      /applicantId/,
    );
    expect(calls).toHaveLength(0);
  });
});
