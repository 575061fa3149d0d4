import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { MutaLoginPack, ResponseVo } from "../../gen/ts/whaleshark/v1/envelope.js";
import type { ClientFrame } from "../../lib/wire/index.js";
import { RecordingTransport } from "../transport/recording-transport.js";
import type { TransportKind } from "../transport/transport.js";
import { Connection, type ConnectionHooks, type FrameLane } from "./connection.js";
import { LocalRegistry } from "./local-registry.js";

const logger = pino({ level: "silent" });
const hooks = (handle: ConnectionHooks["handle"] = async () => {}): ConnectionHooks => ({
  handle,
  frameError: () => {},
  closed: () => {},
  sent: () => {},
});

/** A client frame of `command` with an empty body. */
const frame = (command: number): ClientFrame => ({
  command,
  version: 1,
  clientType: 1,
  messageType: 0,
  appId: 1,
  imei: "",
  body: new Uint8Array(),
});

/** Splits a server frame into command and payload text (spec §2.2). */
function parse(frame: Uint8Array | undefined) {
  if (frame === undefined) throw new Error("no frame");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  expect(view.getInt32(4)).toBe(frame.length - 8);
  return {
    command: view.getInt32(0),
    payload: frame.subarray(8),
    text: new TextDecoder().decode(frame.subarray(8)),
  };
}

function loggedIn(kind: TransportKind, encoding = 0) {
  const t = new RecordingTransport(kind);
  const conn = new Connection(t, hooks(), logger);
  conn.state = "logged-in";
  conn.encoding = encoding;
  conn.session = {
    appId: 10001,
    userId: "u1",
    clientType: 1,
    imei: "web",
    nodeId: "n",
    connectionId: conn.id,
    connectState: 1,
    messageType: encoding,
    loginAtMs: 0,
    lastSeenMs: 0,
  };
  return { t, conn };
}

describe("Connection frame encoding (spec §2.2, §2.3)", () => {
  const data = new TextEncoder().encode('{"messageId":"m1"}');

  it("writes only the data JSON over TCP and the whole MessagePack over WebSocket", () => {
    const tcp = loggedIn("tcp");
    tcp.conn.sendPush(1103, data);
    expect(parse(tcp.t.written[0])).toMatchObject({ command: 1103, text: '{"messageId":"m1"}' });
    const ws = loggedIn("ws");
    ws.conn.sendPush(1103, data);
    expect(parse(ws.t.written[0]).text).toBe(
      '{"appId":10001,"clientType":1,"command":1103,"data":{"messageId":"m1"},"imei":"web","toId":"u1"}',
    );
  });

  it("writes MUTALOGIN as the original did: TCP null, WebSocket the pack without data, Protobuf MutaLoginPack", () => {
    const tcp = loggedIn("tcp");
    tcp.conn.sendKick();
    expect(parse(tcp.t.written[0])).toMatchObject({ command: 9002, text: "null" });
    const ws = loggedIn("ws");
    ws.conn.sendKick();
    expect(parse(ws.t.written[0]).text).toBe('{"clientType":0,"command":9002,"toId":"u1","userId":"u1"}');
    const pb = loggedIn("tcp", 1);
    pb.conn.sendKick();
    expect(MutaLoginPack.decode(parse(pb.t.written[0]).payload)).toEqual({
      clientType: 0,
      command: 9002,
      toId: "u1",
      userId: "u1",
    });
  });

  it("writes the WebSocket pack of the current login: before login, and after the record changes", () => {
    const t = new RecordingTransport("ws");
    const conn = new Connection(t, hooks(), logger);
    conn.sendData(9006, { ok: false });
    expect(parse(t.written[0]).text).toBe('{"clientType":0,"command":9006,"data":{"ok":false}}');
    const ws = loggedIn("ws");
    ws.conn.sendData(1046, { ok: true });
    ws.conn.session = {
      ...(ws.conn.session as NonNullable<typeof ws.conn.session>),
      imei: "pad",
      clientType: 4,
    };
    ws.conn.sendData(1046, { ok: true });
    expect(ws.t.written.map((f) => parse(f).text)).toEqual([
      '{"appId":10001,"clientType":1,"command":1046,"data":{"ok":true},"imei":"web","toId":"u1"}',
      '{"appId":10001,"clientType":4,"command":1046,"data":{"ok":true},"imei":"pad","toId":"u1"}',
    ]);
  });

  it("writes the text it is given for data, the same bytes as stringifying the data", () => {
    const data = { code: 60005, data: { command: 1103 }, msg: "不匹配", ok: false };
    for (const kind of ["tcp", "ws"] as const) {
      const a = loggedIn(kind);
      a.conn.sendData(9006, data);
      a.conn.sendData(9006, data, JSON.stringify(data));
      expect(a.t.written[1]).toEqual(a.t.written[0]);
    }
  });

  it("encodes the 9006 error frame as a ResponseVo in either encoding", () => {
    const error = { code: 90001, data: { command: 5000 }, msg: "参数校验错误", ok: false };
    const json = loggedIn("tcp");
    json.conn.sendData(9006, error);
    expect(JSON.parse(parse(json.t.written[0]).text)).toEqual(error);
    const pb = loggedIn("tcp", 1);
    pb.conn.sendData(9006, error);
    expect(ResponseVo.toJSON(ResponseVo.decode(parse(pb.t.written[0]).payload))).toEqual(error);
  });
});

describe("Connection inbound handling", () => {
  it("handles frames one at a time, in order, pausing reading while too many wait", async () => {
    const order: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const t = new RecordingTransport("tcp");
    const conn = new Connection(
      t,
      hooks(async (_c, frame) => {
        await gate;
        order.push(frame.command);
      }),
      logger,
    );
    for (let i = 1; i <= 40; i++) conn.onFrame(frame(i));
    expect(t.paused).toBe(true);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(t.paused).toBe(false);
  });
});

describe("Connection pipelining (issue 12 item 2)", () => {
  /** Lanes as the gateway assigns them: 9000/9003 barriers, 1103 sends, the rest other. */
  const lane = (_c: Connection, f: ClientFrame): FrameLane =>
    f.command === 9000 || f.command === 9003 ? "barrier" : f.command === 1103 ? "send" : "other";

  /** A connection whose handler holds every frame until the test finishes it. */
  function held(maxInFlightSends: number) {
    const started: number[] = [];
    const finish = new Map<number, Array<() => void>>();
    const t = new RecordingTransport("tcp");
    const conn = new Connection(
      t,
      {
        ...hooks(async (_c, f) => {
          started.push(f.command);
          await new Promise<void>((resolve) =>
            finish.set(f.command, [...(finish.get(f.command) ?? []), resolve]),
          );
        }),
        lane,
      },
      logger,
      Date.now(),
      maxInFlightSends,
    );
    const release = async (command: number) => {
      for (const resolve of finish.get(command) ?? []) resolve();
      finish.delete(command);
      await new Promise((r) => setTimeout(r, 0));
    };
    return { t, conn, started, release };
  }

  it("starts sends up to the bound at once, and a PING behind a full window without waiting", () => {
    const { conn, started } = held(4);
    for (let i = 0; i < 4; i++) conn.onFrame(frame(1103));
    conn.onFrame(frame(9999));
    conn.onFrame(frame(1106));
    expect(started).toEqual([1103, 1103, 1103, 1103, 9999, 1106]);
    expect(conn.inFlight).toBe(6);
  });

  it("holds a send past the bound, and every frame after it, until a send finishes", async () => {
    const { conn, started, release } = held(2);
    for (const c of [1103, 1103, 1103, 9999]) conn.onFrame(frame(c));
    expect(started).toEqual([1103, 1103]);
    await release(1103);
    expect(started).toEqual([1103, 1103, 1103, 9999]);
  });

  it("stops reading while frames wait and reads again once they have started", async () => {
    const { t, conn, release } = held(1);
    for (let i = 0; i < 40; i++) conn.onFrame(frame(1103));
    expect(t.paused).toBe(true);
    for (let i = 0; i < 40; i++) await release(1103);
    expect(t.paused).toBe(false);
    expect(conn.inFlight).toBe(0);
  });

  it("starts a barrier (LOGIN, LOGOUT) only after everything before it, and nothing after it before it ends", async () => {
    const { conn, started, release } = held(8);
    for (const c of [1103, 9003, 1103, 9999]) conn.onFrame(frame(c));
    expect(started).toEqual([1103]);
    await release(1103);
    expect(started).toEqual([1103, 9003]);
    await release(9003);
    expect(started).toEqual([1103, 9003, 1103, 9999]);
  });
});

describe("LocalRegistry", () => {
  it("indexes by id, user and device, and hands back the connection a device replaces", () => {
    const registry = new LocalRegistry();
    const a = new Connection(new RecordingTransport("tcp"), hooks(), logger);
    const b = new Connection(new RecordingTransport("ws"), hooks(), logger);
    const c = new Connection(new RecordingTransport("tcp"), hooks(), logger);
    for (const conn of [a, b, c]) registry.add(conn);
    const device = { appId: 1, userId: "u", clientType: 3, imei: "x" };
    expect(registry.bind(a, device)).toBeUndefined();
    expect(registry.bind(b, { ...device, clientType: 1, imei: "web" })).toBeUndefined();
    expect(registry.ofUser(1, "u")).toEqual([a, b]);
    expect(registry.bind(c, device)).toBe(a);
    expect(registry.ofDevice(1, "u", 3, "x")).toBe(c);
    expect(registry.ofUser(1, "u")).toEqual([b, c]);
    expect(registry.bindingOf(a)).toBeUndefined();
    registry.remove(b);
    expect(registry.byId(b.id)).toBeUndefined();
    expect(registry.ofUser(1, "u")).toEqual([c]);
    expect(registry.size).toBe(2);
  });
});
