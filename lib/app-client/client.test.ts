import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GetUserInfoRequest,
  GetUserInfoResponse,
  UserServiceService,
} from "../../gen/ts/whaleshark/v1/user_service.js";
import { verifyUserSign } from "../auth/index.js";
import { AppClient, AppClientOptionError, type AppClientOptions, isUnreachable } from "./index.js";

/**
 * AppClient against a real grpc-js server whose UserService.GetUserInfo records what it got and
 * answers as the current scenario says (ok, a status error a number of times, or never).
 */
const KEY = "app-client-test-key";
const APP_ID = 10042;

interface Seen {
  request: GetUserInfoRequest;
  metadata: Metadata;
}
let seen: Seen[] = [];
let behaviour: { failWith?: status; failTimes?: number; hang?: boolean } = {};
let server: Server;
let target: string;

beforeAll(async () => {
  server = new Server();
  server.addService(UserServiceService, {
    getUserInfo(
      call: ServerUnaryCall<GetUserInfoRequest, GetUserInfoResponse>,
      done: sendUnaryData<GetUserInfoResponse>,
    ) {
      seen.push({ request: call.request, metadata: call.metadata });
      if (behaviour.hang) return;
      if (behaviour.failWith !== undefined && seen.length <= (behaviour.failTimes ?? Infinity)) {
        done({ code: behaviour.failWith, details: "scripted failure" });
        return;
      }
      done(
        null,
        GetUserInfoResponse.fromPartial({ userDataItem: call.request.userIds.map((userId) => ({ userId })) }),
      );
    },
  } as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  target = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

function client(overrides: Partial<AppClientOptions> = {}): AppClient {
  seen = [];
  behaviour = {};
  return new AppClient({
    target,
    appId: APP_ID,
    identity: { userId: "admin", privateKey: KEY },
    retry: { initialMs: 10, maxMs: 20 },
    ...overrides,
  });
}

describe("AppClient", () => {
  it("signs every call as the identity with the app's key and fills left-out fields with defaults", async () => {
    const c = client();
    try {
      const res = await c.users.getUserInfo({ userIds: ["u1", "u2"] });
      await c.users.getUserInfo({ userIds: ["u3"] });
      expect(res.userDataItem.map((u) => u.userId)).toEqual(["u1", "u2"]);
      expect(seen).toHaveLength(2);
      const [first, second] = seen as [Seen, Seen];
      expect(first.request).toEqual({
        appId: 0,
        operater: "",
        clientType: 0,
        imei: "",
        userIds: ["u1", "u2"],
      });
      expect(first.metadata.get("appid")).toEqual([String(APP_ID)]);
      expect(first.metadata.get("identifier")).toEqual(["admin"]);
      const token = first.metadata.get("usersign")[0] as string;
      const verified = verifyUserSign({ token, appId: APP_ID, identifier: "admin", privateKey: KEY });
      // Made to live ten minutes: long enough for slow calls, short enough to be renewed often.
      expect(verified.expiresAt - verified.issuedAt).toBe(600);
      // One token serves many calls (it is renewed only after minutes).
      expect(second.metadata.get("usersign")).toEqual([token]);
    } finally {
      c.close();
    }
  });

  it("asks a userSign function for every call (a caller holding tokens, not the key)", async () => {
    let n = 0;
    const c = client({ identity: { userId: "u7", userSign: () => `token-${++n}` } });
    try {
      await c.call(UserServiceService.getUserInfo, { userIds: ["x"] });
      await c.service("users").getUserInfo({});
      expect(seen.map((s) => s.metadata.get("usersign")[0])).toEqual(["token-1", "token-2"]);
      expect(seen.map((s) => s.metadata.get("identifier")[0])).toEqual(["u7", "u7"]);
    } finally {
      c.close();
    }
  });

  it("retries UNAVAILABLE up to the policy's attempts, and nothing else", async () => {
    const c = client();
    try {
      behaviour = { failWith: status.UNAVAILABLE, failTimes: 2 };
      await expect(c.users.getUserInfo({ userIds: ["a"] })).resolves.toBeDefined();
      expect(seen).toHaveLength(3);

      seen = [];
      behaviour = { failWith: status.UNAVAILABLE };
      await expect(c.users.getUserInfo({})).rejects.toMatchObject({ code: status.UNAVAILABLE });
      expect(seen).toHaveLength(3);

      seen = [];
      behaviour = { failWith: status.PERMISSION_DENIED };
      await expect(c.users.getUserInfo({})).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
      expect(seen).toHaveLength(1);

      seen = [];
      behaviour = { failWith: status.UNAVAILABLE };
      await expect(c.users.getUserInfo({}, { retry: false })).rejects.toMatchObject({
        code: status.UNAVAILABLE,
      });
      expect(seen).toHaveLength(1);

      seen = [];
      behaviour = { failWith: status.PERMISSION_DENIED, failTimes: 1 };
      await expect(
        c.users.getUserInfo({}, { retry: { codes: [status.PERMISSION_DENIED] } }),
      ).resolves.toBeDefined();
      expect(seen).toHaveLength(2);
    } finally {
      c.close();
    }
  });

  it("ends a call at its deadline, all attempts included", async () => {
    const c = client({ timeoutMs: 5_000 });
    try {
      behaviour = { hang: true };
      const started = Date.now();
      await expect(c.users.getUserInfo({}, { timeoutMs: 300 })).rejects.toMatchObject({
        code: status.DEADLINE_EXCEEDED,
      });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      c.close();
    }
  });

  it("reports an unreachable domain as such after its retries", async () => {
    const c = new AppClient({
      target: "127.0.0.1:1",
      appId: APP_ID,
      identity: { userId: "admin", privateKey: KEY },
      timeoutMs: 3_000,
      retry: { initialMs: 10, maxMs: 20 },
    });
    try {
      const error = await c.users.getUserInfo({}).catch((e: unknown) => e);
      expect(isUnreachable(error)).toBe(true);
    } finally {
      c.close();
    }
  });

  it("sends through a local transport when it serves the path, without a connection", async () => {
    const paths: string[] = [];
    const c = new AppClient({
      target: "127.0.0.1:1",
      appId: APP_ID,
      identity: { userId: "admin", privateKey: KEY },
      local: {
        call(path, _request, metadata) {
          paths.push(`${path} as ${metadata.get("identifier")[0]}`);
          return Promise.resolve(
            Buffer.from(
              GetUserInfoResponse.encode(GetUserInfoResponse.fromPartial({ failUser: ["z"] })).finish(),
            ),
          );
        },
      },
    });
    try {
      await expect(c.users.getUserInfo({ userIds: ["z"] })).resolves.toMatchObject({ failUser: ["z"] });
      expect(paths).toEqual(["/whaleshark.v1.UserService/GetUserInfo as admin"]);
    } finally {
      c.close();
    }
  });

  it("refuses bad options before connecting, naming the option and never the key", () => {
    const good: AppClientOptions = { target, appId: APP_ID, identity: { userId: "admin", privateKey: KEY } };
    const cases: Array<[Partial<AppClientOptions> & Record<string, unknown>, string]> = [
      [{ target: " " }, "target"],
      [{ appId: 0 }, "appId"],
      [{ appId: 1.5 }, "appId"],
      [{ identity: { userId: "", privateKey: KEY } }, "identity.userId"],
      [{ identity: { userId: "x".repeat(51), privateKey: KEY } }, "identity.userId"],
      [{ identity: { userId: "a", privateKey: KEY, userSign: "t" } as never }, "identity"],
      [{ identity: { userId: "a" } as never }, "identity"],
      [{ identity: { userId: "a", privateKey: "" } }, "identity"],
      [{ timeoutMs: 0 }, "timeoutMs"],
      [{ retry: { attempts: 0 } }, "retry.attempts"],
      [{ retry: { initialMs: -1 } }, "retry.initialMs"],
      [{ retry: { codes: [99] } }, "retry.codes"],
    ];
    for (const [bad, option] of cases) {
      let thrown: unknown;
      try {
        new AppClient({ ...good, ...bad }).close();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, option).toBeInstanceOf(AppClientOptionError);
      expect((thrown as AppClientOptionError).option).toBe(option);
      expect((thrown as AppClientOptionError).code).toBe("app-client/bad-option");
      expect((thrown as Error).message).not.toContain(KEY);
    }
  });

  it("refuses a bad per-call option before sending anything", async () => {
    const c = client();
    try {
      await expect(c.users.getUserInfo({}, { timeoutMs: -1 })).rejects.toBeInstanceOf(AppClientOptionError);
      await expect(c.users.getUserInfo({}, { retry: { attempts: 0 } })).rejects.toBeInstanceOf(
        AppClientOptionError,
      );
      expect(seen).toHaveLength(0);
    } finally {
      c.close();
    }
  });

  it("offers every service of the contracts, typed", () => {
    const c = client();
    try {
      expect(typeof c.groups.createGroup).toBe("function");
      expect(typeof c.messages.sendMessage).toBe("function");
      expect(typeof c.routes.getGatewayAddress).toBe("function");
      expect(typeof c.presence.subscribe).toBe("function");
      expect(c.users).toBe(c.users);
    } finally {
      c.close();
    }
  });
});
