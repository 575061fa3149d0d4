import { describe, expect, it } from "vitest";
import {
  type ApiCaller,
  customStatusFault,
  isPresenceCommand,
  PresenceApi,
  presenceEvent,
} from "./presence.js";

/** A caller that records each call and answers with `answer`. */
function recording(answer: unknown): { api: ApiCaller; calls: Array<[string, string, unknown]> } {
  const calls: Array<[string, string, unknown]> = [];
  return {
    calls,
    api: {
      call: async <T>(service: string, method: string, body?: Record<string, unknown>) => {
        calls.push([service, method, body]);
        return answer as T;
      },
    },
  };
}

describe("sdk presence", () => {
  it("queries PresenceService and parses the proto-JSON answer", async () => {
    const { api, calls } = recording({
      users: [
        {
          userId: "alice",
          status: 1,
          customStatus: "busy",
          devices: [{ clientType: 3, imei: "phone", status: 1, loginTime: "1700000000000" }],
        },
      ],
    });
    const users = await new PresenceApi(api).query(["alice"]);
    expect(calls).toEqual([["PresenceService", "QueryPresence", { userIds: ["alice"] }]]);
    expect(users).toEqual([
      {
        userId: "alice",
        status: 1,
        customStatus: "busy",
        devices: [{ clientType: 3, imei: "phone", status: 1, loginTime: 1_700_000_000_000 }],
      },
    ]);
  });

  it("subscribes with a TTL and returns the end time as a number", async () => {
    const { api, calls } = recording({ users: [], expireTime: "1700000060000" });
    await expect(new PresenceApi(api).subscribe(["bob"], 60)).resolves.toEqual({
      users: [],
      expireTime: 1_700_000_060_000,
    });
    expect(calls[0]).toEqual(["PresenceService", "Subscribe", { userIds: ["bob"], ttlSeconds: 60 }]);
  });

  it("refuses bad input before calling", async () => {
    const { api, calls } = recording({});
    const p = new PresenceApi(api);
    await expect(p.query([""])).rejects.toThrow(TypeError);
    await expect(p.subscribe(["a"], -1)).rejects.toThrow(TypeError);
    await expect(p.unsubscribe(Array.from({ length: 101 }, (_, i) => `u${i}`))).rejects.toThrow(
      /at most 100/,
    );
    await expect(p.setCustomStatus("x".repeat(101))).rejects.toThrow(/longer than 100/);
    expect(calls).toEqual([]);
  });

  it("counts custom status characters as code points and refuses NUL", () => {
    expect(customStatusFault("😀".repeat(100))).toBeUndefined();
    expect(customStatusFault("😀".repeat(101))).toMatch(/longer/);
    expect(customStatusFault("a\u0000b")).toMatch(/NUL/);
    expect(customStatusFault(5)).toMatch(/string/);
  });

  it("turns 4004 / 4005 pushes into presence events", () => {
    expect(isPresenceCommand(4004)).toBe(true);
    expect(isPresenceCommand(4005)).toBe(true);
    expect(isPresenceCommand(4001)).toBe(false);
    expect(
      presenceEvent(4004, { appId: 10001, userId: "alice", clientType: 3, imei: "p", status: 2 }),
    ).toEqual({
      command: 4004,
      data: { appId: 10001, userId: "alice", clientType: 3, imei: "p", status: 2, customStatus: undefined },
    });
  });
});
