import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { generateUserSign } from "../../lib/auth/index.js";
import {
  APP_ID,
  type Infra,
  login,
  memoryInfra,
  metric,
  startTestGateway,
  userSign,
} from "./support/harness.js";
import { RawClient, type RawServerFrame } from "./support/raw-client.js";

/**
 * Done-when of issue 3: each bad input of item 5 gets an error frame (COMMAND_ERROR 9006, a
 * ResponseVo) and no crash, one by one (fixes D21, D26); the connection stays where that is safe
 * and closes where it is not (failed login, malformed frames).
 */
let infra: Infra;
let gateway: GatewayHandle;
let seq = 0;

beforeAll(async () => {
  infra = memoryInfra();
  gateway = await startTestGateway({ nodeId: "gw-bad", infra: await infra.instance() });
});

afterAll(async () => {
  await gateway.stop();
  await infra.close();
});

async function open(kind: "tcp" | "ws" = "tcp"): Promise<RawClient> {
  return RawClient.connect(kind, kind === "tcp" ? gateway.tcpPort : gateway.wsPort);
}

async function loggedIn(kind: "tcp" | "ws" = "tcp"): Promise<RawClient> {
  const c = await open(kind);
  await login(c, `bad-${++seq}`);
  return c;
}

function expectError(frame: RawServerFrame, code: number, command: number): void {
  expect(frame.command, frame.text).toBe(9006);
  expect(frame.json).toMatchObject({ code, data: { command }, ok: false });
  expect(typeof (frame.json as { msg: unknown }).msg).toBe("string");
}

/** The connection still reads and answers: an unknown command gets its 9006. */
async function expectUsable(c: RawClient): Promise<void> {
  c.send({ command: 5000, body: {} });
  expectError(await c.next(), 90001, 5000);
  expect(c.closed).toBe(false);
}

describe("before login", () => {
  it.each([
    ["a chat message", 1103],
    ["a PING", 9999],
    ["a LOGOUT", 9003],
  ])("%s answers 60002 and keeps the connection for a later LOGIN", async (_name, command) => {
    const c = await open();
    c.send({ command, body: { fromId: "x", toId: "y", messageId: "m" } });
    expectError(await c.next(), 60002, command);
    await login(c, "late-user");
    c.close();
  });
});

describe("after login: refused frames keep the connection", () => {
  it.each([
    ["an unknown command", 5000],
    ["SENDMSG 9005, which crashed the original (D21)", 9005],
    ["a server-to-client command", 1046],
    ["a friendship code, dropped silently by the original", 3000],
  ])("%s answers 90001", async (_name, command) => {
    const c = await loggedIn();
    c.send({ command, body: {} });
    expectError(await c.next(), 90001, command);
    await expectUsable(c);
    c.close();
  });

  it.each([
    ["invalid JSON", "{not json", 0],
    ["a JSON array", "[1,2,3]", 0],
    ["a JSON scalar", "42", 0],
    ["Protobuf garbage", new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), 1],
  ])("a body that does not parse (%s) answers 90001", async (_name, body, messageType) => {
    const c = await loggedIn("ws");
    c.send({ command: 1103, messageType, body });
    const frame = await c.next();
    // Over WebSocket the whole pack travels (spec §2.3): the ResponseVo is its data.
    expect(frame.command).toBe(9006);
    expect(frame.json).toMatchObject({
      command: 9006,
      data: { code: 90001, data: { command: 1103 }, ok: false },
    });
    c.send({ command: 5000, body: {} });
    expect((await c.next()).json).toMatchObject({ data: { code: 90001, data: { command: 5000 } } });
    c.close();
  });

  it("an unsupported messageType (2, XML in the original) answers 90001", async () => {
    const c = await loggedIn();
    c.send({ command: 1103, messageType: 2, body: "<xml/>" });
    expectError(await c.next(), 90001, 1103);
    await expectUsable(c);
    c.close();
  });

  it("a fromId that is not the logged-in user answers 60005 with the messageId (D26)", async () => {
    const c = await loggedIn();
    c.send({
      command: 1103,
      body: { fromId: "someone-else", toId: "x", messageId: "m-1", messageBody: "hi" },
    });
    const frame = await c.next();
    expectError(frame, 60005, 1103);
    expect(frame.json).toMatchObject({ data: { messageId: "m-1" } });
    await expectUsable(c);
    c.close();
  });

  it("a second LOGIN answers 90001 and keeps the first login", async () => {
    const c = await loggedIn();
    c.send({ command: 9000, body: { userId: "other", userSign: userSign("other") } });
    expectError(await c.next(), 90001, 9000);
    await expectUsable(c);
    c.close();
  });
});

describe("failed LOGIN: an error frame with the 600xx code, then the connection closes", () => {
  const now = Math.floor(Date.now() / 1000);
  it.each([
    ["no userId", { userSign: "x" }, APP_ID, 60002],
    ["an unknown appId", { userId: "u1", userSign: userSign("u1") }, 424242, 60001],
    ["no userSign", { userId: "u1" }, APP_ID, 60000],
    ["a userSign of another user", { userId: "u1", userSign: userSign("u2") }, APP_ID, 60005],
    [
      "a userSign signed with another key",
      {
        userId: "u1",
        userSign: generateUserSign({
          appId: APP_ID,
          identifier: "u1",
          privateKey: "not-the-key",
          expireSeconds: 60,
        }),
      },
      APP_ID,
      60003,
    ],
    ["a malformed userSign", { userId: "u1", userSign: "@@@" }, APP_ID, 60003],
    ["an expired userSign", { userId: "u1", userSign: userSign("u1", 10, now - 3600) }, APP_ID, 60004],
  ])("%s → %s", async (_name, body, appId, code) => {
    const c = await open();
    c.send({ command: 9000, appId, body });
    expectError(await c.next(), code, 9000);
    await c.waitClosed();
  });

  it("a LOGIN body that is not JSON answers 90001 and closes", async () => {
    const c = await open("ws");
    c.send({ command: 9000, body: "{{{" });
    expect((await c.next()).json).toMatchObject({ data: { code: 90001, data: { command: 9000 } } });
    await c.waitClosed();
  });

  it("an unknown clientType answers 90001 and closes", async () => {
    const c = await open();
    c.send({ command: 9000, clientType: 77, body: { userId: "u1", userSign: userSign("u1") } });
    expectError(await c.next(), 90001, 9000);
    await c.waitClosed();
  });

  it.each([
    ["a userId longer than its column (51 characters)", { userId: "u".repeat(51) }, undefined],
    ["a NUL in the userId", { userId: "u\u0000x" }, undefined],
    ["a NUL in the imei", { userId: "u1" }, "web\u0000"],
  ])("%s answers 90001 and closes (the store could not keep it)", async (_name, who, imei) => {
    const c = await open();
    c.send({
      command: 9000,
      ...(imei === undefined ? {} : { imei }),
      body: { ...who, userSign: userSign(who.userId) },
    });
    expectError(await c.next(), 90001, 9000);
    await c.waitClosed();
  });
});

describe("malformed frames close the connection without an answer", () => {
  /** A raw header with the given lengths (spec §2.1 offsets). */
  function header(imeiLength: number, bodyLength: number): Uint8Array {
    const out = new Uint8Array(28);
    const v = new DataView(out.buffer);
    v.setInt32(0, 1103);
    v.setInt32(4, 1);
    v.setInt32(8, 1);
    v.setInt32(16, APP_ID);
    v.setInt32(20, imeiLength);
    v.setInt32(24, bodyLength);
    return out;
  }

  it.each([
    ["a negative body length", header(3, -1)],
    ["a negative imei length", header(-5, 0)],
    ["a frame past maxFrameBytes (64 KiB), refused before any allocation", header(3, 64 * 1024 * 1024)],
    ["an imei longer than 256 bytes", header(4096, 0)],
  ])("TCP: %s", async (_name, bytes) => {
    const c = await loggedIn();
    c.sendBytes(bytes);
    await c.waitClosed();
    expect(c.frames.map((f) => f.command)).toEqual([9001]);
  });

  it("WebSocket: a message shorter than its declared lengths", async () => {
    const c = await loggedIn("ws");
    c.sendBytes(header(3, 100)); // declares 103 bytes, carries none
    await c.waitClosed();
  });

  it("WebSocket: text frames are ignored (spec §2.3), the connection stays", async () => {
    const c = await loggedIn("ws");
    c.sendText('{"command":1103}');
    c.send({ command: 5000, body: {} });
    expect((await c.next()).json).toMatchObject({ data: { code: 90001, data: { command: 5000 } } });
    c.close();
  });
});

describe("afterwards", () => {
  it("the gateway still serves new clients and counted every error path", async () => {
    const c = await open();
    await login(c, "survivor");
    c.close();
    const kinds = [
      "before-login",
      "unknown-command",
      "body-invalid-json",
      "body-not-json-object",
      "body-invalid-protobuf",
      "body-unsupported-encoding",
      "from-mismatch",
      "login-failed",
      "frame-negative-length",
      "frame-frame-too-large",
      "frame-imei-too-long",
      "frame-truncated",
    ];
    for (const kind of kinds) {
      expect(await metric(gateway, "whaleshark_gateway_errors_total", { kind }), kind).toBeGreaterThan(0);
    }
  });
});
