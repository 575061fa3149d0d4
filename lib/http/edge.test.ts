import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import {
  GetSingleUserInfoRequest,
  GetUserSequenceRequest,
  UserServiceClient,
  UserServiceService,
} from "../../gen/ts/whaleshark/v1/user_service.js";
import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import { generateUserSign } from "../auth/index.js";
import { ImError } from "../errors/index.js";
import { AppAuthenticator } from "../grpc/auth.js";
import { errorCodeOf } from "../grpc/errors.js";
import { serveApp } from "../grpc/serve.js";
import { DEFAULT_GRPC_POLICY, type RunningGrpcServer, startGrpcServer } from "../grpc/server.js";

/**
 * The HTTP edge on a gRPC server's own port, with a UserService whose handlers are test doubles
 * behind the real authentication (serveApp): what the edge adds (routes, JSON, ResponseVO,
 * Connect shape, CORS, bounds, deadlines, metrics, logs), and that gRPC still answers on the port.
 */

const APP = 10001;
const KEY = "edge-test-key";
const ORIGIN = "https://app.example.com";
const sign = (user: string, ttl = 600, now?: number) =>
  generateUserSign({
    appId: APP,
    identifier: user,
    privateKey: KEY,
    expireSeconds: ttl,
    ...(now ? { now } : {}),
  });
const query = (user: string, userSign = sign(user)) =>
  `?${new URLSearchParams({ appId: String(APP), identifier: user, userSign })}`;

let server: RunningGrpcServer;
let base: string;
const registry = new Registry();
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: "info" }, sink);
  const auth = new AppAuthenticator({
    apps: { [String(APP)]: { privateKey: KEY, adminIds: ["root"] } },
    kv: new MemoryKvStore(),
    userType: async () => 1,
  });
  const handlers = serveApp(
    "whaleshark.v1.UserService",
    UserServiceService,
    {
      getSingleUserInfo: async (req) => {
        if (req.userId !== "ann") throw ImError.of("USER_IS_NOT_EXIST");
        return { userData: UserData.fromPartial({ userId: "ann", nickName: "Ann", appId: APP }) };
      },
      modifyUserInfo: async () => ({}),
      getUserSequence: async () => ({ sequences: { friendShipSeq: 4 } }),
      deleteUsers: async () => {
        await new Promise((r) => setTimeout(r, 1500));
        return { successId: [], errorId: [] };
      },
    },
    { auth, logger },
  );
  server = await startGrpcServer({
    role: "domain",
    host: "127.0.0.1",
    port: 0,
    services: [{ name: "whaleshark.v1.UserService", definition: UserServiceService, handlers }],
    logger,
    registry,
    policy: {
      ...DEFAULT_GRPC_POLICY,
      http: { allowedOrigins: [ORIGIN], maxBodyBytes: 2048, timeoutMs: 300, idleTimeoutMs: 5000 },
    },
  });
  base = `http://${server.address}`;
});

afterAll(async () => {
  await server?.stop(0);
});

async function post(path: string, body: unknown, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? undefined : JSON.parse(text) };
}

describe("HTTP API on a gRPC port", () => {
  it("answers an original path with ResponseVO, data = the response_body field", async () => {
    const r = await post(`/v1/user/data/getSingleUserInfo${query("ann")}`, {
      appId: APP,
      operater: "ann",
      userId: "ann",
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      code: 200,
      msg: "success",
      ok: true,
      data: { userId: "ann", nickName: "Ann" },
    });
    const seq = await post(`/v1/user/getUserSequence${query("ann")}`, { userId: "ann" }, { method: "PATCH" });
    expect(seq.body).toEqual({ code: 200, msg: "success", data: { friendShipSeq: 4 }, ok: true });
    const empty = await post(`/v1/user/data/modifyUserInfo${query("ann")}`, { userId: "ann" });
    expect(empty.body).toEqual({ code: 200, msg: "success", data: null, ok: true });
  });

  it("answers business errors and authentication failures as HTTP 200 with their code", async () => {
    const missing = await post(`/v1/user/data/getSingleUserInfo${query("ann")}`, { userId: "zed" });
    expect(missing).toMatchObject({ status: 200, body: { code: 20001, ok: false, data: null } });
    const cases: Array<[string, number]> = [
      ["", 60001],
      [`?appId=${APP}`, 60002],
      [`?appId=${APP}&identifier=ann`, 60000],
      [query("ann", `${sign("ann").slice(0, -4)}AAAA`), 60003],
      [query("ann", sign("ann", 1, Math.floor(Date.now() / 1000) - 100)), 60004],
      [query("ann", sign("bob")), 60005],
    ];
    for (const [q, code] of cases) {
      const r = await post(`/v1/user/data/getSingleUserInfo${q}`, { userId: "ann" });
      expect({ q, status: r.status, code: r.body.code }).toEqual({ q, status: 200, code });
    }
    // Signed as bob, acting as ann (not an admin): the RequestBase check refuses it.
    const other = await post(`/v1/user/data/getSingleUserInfo${query("bob")}`, {
      operater: "ann",
      userId: "ann",
    });
    expect(other.body.code).toBe(60005);
  });

  it("refuses bodies it cannot read with 90001, wrong methods with 405, unknown paths with 404", async () => {
    expect((await post(`/v1/user/data/getSingleUserInfo${query("ann")}`, "{nope")).body.code).toBe(90001);
    expect((await post(`/v1/user/data/getSingleUserInfo${query("ann")}`, { userId: 5 })).body.code).toBe(
      90001,
    );
    const put = await post("/v1/user/data/getSingleUserInfo", {}, { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST");
    expect((await post("/v1/friendship/addFriend", {})).status).toBe(404); // not this server's service
    // OPTIONS without a preflight runs nothing: it says what the path takes.
    const options = await fetch(`${base}/v1/user/deleteUser${query("ann")}`, { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    const postOnly = await fetch(`${base}/v1/user/data/getUserInfo`, { method: "OPTIONS" });
    expect(postOnly.headers.get("allow")).toBe("POST, OPTIONS");
  });

  it("bounds bodies (413) and calls (504 past the deadline)", async () => {
    const big = await post(`/v1/user/data/getSingleUserInfo${query("ann")}`, { userId: "x".repeat(4096) });
    expect(big.status).toBe(413);
    const slow = await post(`/v1/user/deleteUser${query("ann")}`, { userId: ["ann"] });
    expect(slow.status).toBe(504);
    expect(slow.body).toMatchObject({ code: 90000, ok: false });
  });

  it("serves every method at /<Service>/<Method> with proto-JSON and Connect errors", async () => {
    const ok = await post(
      `/whaleshark.v1.UserService/GetUserSequence${query("ann")}`,
      {},
      {
        headers: { "content-type": "application/json" },
      },
    );
    expect(ok).toMatchObject({ status: 200, body: { sequences: { friendShipSeq: "4" } } });
    const headers = { appid: String(APP), identifier: "ann", usersign: sign("ann") };
    const byHeaders = await post(
      "/whaleshark.v1.UserService/GetSingleUserInfo",
      { userId: "zed" },
      { headers },
    );
    expect(byHeaders.status).toBe(404);
    expect(byHeaders.body).toMatchObject({ code: "not_found" });
    expect(byHeaders.headers.get("whaleshark-code")).toBe("20001");
    const unauthenticated = await post("/whaleshark.v1.UserService/GetSingleUserInfo", {});
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("whaleshark-code")).toBe("60001");
    const unimplemented = await post(`/whaleshark.v1.UserService/RevokeTokens${query("ann")}`, {});
    expect(unimplemented.status).toBe(501);
  });

  it("answers CORS preflights for allowed origins and refuses other origins", async () => {
    const preflight = await fetch(`${base}/v1/user/data/getSingleUserInfo`, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type");
    const allowed = await post(
      `/v1/user/data/getSingleUserInfo${query("ann")}`,
      { userId: "ann" },
      { headers: { origin: ORIGIN } },
    );
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const other = await post(
      `/v1/user/data/getSingleUserInfo${query("ann")}`,
      { userId: "ann" },
      {
        headers: { origin: "https://evil.example.net" },
      },
    );
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("still speaks gRPC on the same port", async () => {
    const client = new UserServiceClient(server.address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("appid", String(APP));
    metadata.set("identifier", "ann");
    metadata.set("usersign", sign("ann"));
    const res = await new Promise((resolve, reject) =>
      client.getSingleUserInfo(GetSingleUserInfoRequest.fromPartial({ userId: "ann" }), metadata, (e, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    client.close();
    expect(res).toMatchObject({ userData: { userId: "ann" } });
  });

  it("counts requests per route and logs them without the userSign", async () => {
    const text = await registry.metrics();
    expect(text).toMatch(
      /whaleshark_http_requests_total\{route="\/v1\/user\/data\/getSingleUserInfo",status="200",code="20001"\} [1-9]/,
    );
    expect(text).toMatch(
      /whaleshark_http_request_duration_seconds_count\{route="\/v1\/user\/getUserSequence"\} [1-9]/,
    );
    const access = logLines.filter((l) => l.includes('"http request"'));
    expect(access.length).toBeGreaterThan(10);
    expect(access.join("\n")).not.toMatch(/userSign|usersign|eJ/);
  });
});

describe("auth.login: open (the original's unsigned calls, D4)", () => {
  let open: RunningGrpcServer;
  const warnings: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        warnings.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: "warn" }, sink);
    const auth = new AppAuthenticator({
      apps: { [String(APP)]: { privateKey: KEY, adminIds: ["root"] } },
      kv: new MemoryKvStore(),
      userType: async () => 1,
      openLogin: true,
    });
    const handlers = serveApp(
      "whaleshark.v1.UserService",
      UserServiceService,
      {
        getUserSequence: async (_req, ctx) => ({
          sequences: { [ctx.operator]: (await ctx.isAdmin()) ? 100 : 1 },
        }),
      },
      { auth, logger },
    );
    open = await startGrpcServer({
      role: "domain",
      host: "127.0.0.1",
      port: 0,
      services: [{ name: "whaleshark.v1.UserService", definition: UserServiceService, handlers }],
      logger,
      policy: {
        ...DEFAULT_GRPC_POLICY,
        http: {
          allowedOrigins: [],
          maxBodyBytes: 2048,
          timeoutMs: 2000,
          idleTimeoutMs: 5000,
          openLogin: true,
        },
      },
    });
  });

  afterAll(async () => {
    await open?.stop(0);
  });

  const sequence = async (body: Record<string, unknown>, q = "") => {
    const res = await fetch(`http://${open.address}/v1/user/getUserSequence${q}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    return (await res.json()) as { code: number; data: unknown };
  };

  it("is announced as a warning when the server starts", () => {
    expect(warnings.join("\n")).toMatch(
      /auth.login is open: HTTP calls without a userSign act as the operater/,
    );
  });

  it("lets an unsigned HTTP call act as the operater its body names, never as an admin", async () => {
    expect(await sequence({ appId: APP, operater: "ann" })).toMatchObject({ code: 200, data: { ann: 1 } });
    expect(await sequence({ appId: APP, operater: "root" })).toMatchObject({ code: 200, data: { root: 1 } });
    expect((await sequence({ appId: APP })).code).toBe(60002);
    expect((await sequence({ operater: "ann" })).code).toBe(60001);
  });

  it("still verifies a userSign that is given", async () => {
    const bad = `?appId=${APP}&identifier=ann&userSign=${sign("bob")}`;
    expect((await sequence({ appId: APP, operater: "ann" }, bad)).code).toBe(60005);
  });

  it("does not open gRPC: a forged open-call mark is no userSign", async () => {
    const client = new UserServiceClient(open.address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("appid", String(APP));
    metadata.set("identifier", "ann");
    metadata.set("x-whaleshark-open-call", "guess");
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      client.getUserSequence(GetUserSequenceRequest.fromPartial({ userId: "ann" }), metadata, (e) =>
        resolve(e as grpc.ServiceError),
      ),
    );
    client.close();
    expect(errorCodeOf(error)).toBe(60000);
  });
});

describe("connections that go wrong before their first byte", () => {
  it("a reset before any byte leaves the server serving", async () => {
    const { connect } = await import("node:net");
    const [host, port] = [server.address.split(":")[0] ?? "", Number(server.address.split(":")[1])];
    for (let i = 0; i < 5; i++) {
      const socket = connect(port, host);
      await new Promise((r) => socket.once("connect", r));
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    const r = await post(`/v1/user/getUserSequence${query("ann")}`, {});
    expect(r.body).toMatchObject({ code: 200 });
  });
});

describe("http.enabled: false", () => {
  it("leaves the port to gRPC alone: an HTTP/1.1 request gets no answer", async () => {
    const logger = pino({ level: "silent" });
    const plain = await startGrpcServer({
      role: "domain",
      host: "127.0.0.1",
      port: 0,
      services: [{ name: "whaleshark.v1.UserService", definition: UserServiceService, handlers: {} }],
      logger,
      policy: { ...DEFAULT_GRPC_POLICY, http: undefined },
    });
    try {
      await expect(
        fetch(`http://${plain.address}/v1/user/getUserSequence`, { method: "POST" }),
      ).rejects.toThrow();
    } finally {
      await plain.stop(0);
    }
  });
});
