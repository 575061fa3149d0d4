import { describe, expect, it } from "vitest";
import {
  encodeServerFrame,
  encodeTcpPush,
  encodeWsPush,
  MessageEncoding,
  NULL_JSON,
} from "../lib/wire/index.js";
import { hex } from "../test/wire/chunkings.js";
import { decodePush, encodeRequest } from "./frames.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
const frame = (bytes: Uint8Array) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return { command: view.getInt32(0), payload: bytes.subarray(8) };
};
const header = { appId: 10001, clientType: 1, imei: "web", version: 1, encoding: MessageEncoding.JSON };

describe("encodeRequest", () => {
  it("writes the spec's LOGIN frame for the demo client's header (spec §2.1)", () => {
    const bytes = encodeRequest(header, 9000, { userId: "10001" });
    expect(bytes).toEqual(
      hex(
        "00002328 00000001 00000001 00000000 00002711 00000003 00000012 776562 7b22757365724964223a223130303031227d",
      ),
    );
  });

  it("sends LOGOUT with an empty body", () => {
    expect(encodeRequest(header, 9003, { ignored: true }).length).toBe(28 + 3);
  });
});

describe("decodePush", () => {
  const ack = '{"code":200,"data":{"messageId":"m1","messageSequence":1},"msg":"success","ok":true}';
  const expected = { code: 200, data: { messageId: "m1", messageSequence: 1 }, msg: "success", ok: true };

  it("reads TCP JSON data and WebSocket JSON packs to the same message (spec §2.2, §2.3)", () => {
    const tcp = decodePush(frame(encodeTcpPush(1046, utf8(ack))), "tcp", MessageEncoding.JSON);
    const ws = decodePush(
      frame(encodeWsPush({ command: 1046, toId: "u" }, utf8(ack))),
      "ws",
      MessageEncoding.JSON,
    );
    expect(tcp).toEqual({ command: 1046, data: expected });
    expect(ws).toEqual(tcp);
  });

  it("reads MUTALOGIN as `null` over TCP and as the whole pack over WebSocket", () => {
    const tcp = decodePush(frame(encodeTcpPush(9002, NULL_JSON)), "tcp", MessageEncoding.JSON);
    expect(tcp.data).toEqual({ clientType: 0, command: 0, toId: "", userId: "" });
    const pack = encodeWsPush({ command: 9002, toId: "u1", userId: "u1" }, undefined);
    expect(decodePush(frame(pack), "ws", MessageEncoding.JSON).data).toEqual({
      clientType: 0,
      command: 9002,
      toId: "u1",
      userId: "u1",
    });
  });

  it("passes unknown commands through as raw JSON and refuses them in Protobuf", () => {
    const raw = frame(encodeServerFrame(7777, utf8('{"x":1}')));
    expect(decodePush(raw, "tcp", MessageEncoding.JSON).data).toEqual({ x: 1 });
    expect(() => decodePush(raw, "tcp", MessageEncoding.PROTOBUF)).toThrowError(
      expect.objectContaining({ reason: "unknown-command" }),
    );
  });
});
