import { describe, expect, it } from "vitest";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { BodyError } from "./body-error.js";
import { MessageEncoding } from "./constants.js";
import {
  decodeBody,
  encodeData,
  encodeProtobufPush,
  jsonDataToProtobuf,
  PAYLOAD_TYPES,
  parseJsonObject,
} from "./payloads.js";
import { decodeServerFrame } from "./server-frame.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
const { JSON: J, PROTOBUF: P } = MessageEncoding;

function reasonOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BodyError);
    return (error as BodyError).reason;
  }
  return undefined;
}

const MESSAGE = {
  appId: 10001,
  clientType: 1,
  extra: "",
  fromId: "a",
  imei: "web",
  messageBody: "hello",
  messageId: "m1",
  messageKey: 427_349_283_291_136,
  messageSequence: 7,
  messageTime: 1_700_000_000_123,
  toId: "b",
};

describe("payload table", () => {
  it("has a payload type for every command code except LOGOUT, SENDMSG and UNSPECIFIED", () => {
    const codes = Object.values(Command).filter((v): v is number => typeof v === "number" && v >= 0);
    const missing = codes.filter((code) => !PAYLOAD_TYPES.has(code));
    expect(missing.sort()).toEqual([0, 9003, 9005]);
  });
});

describe("decodeBody", () => {
  it("returns the JSON object as sent (messageType 0)", () => {
    expect(decodeBody(9000, J, utf8('{"userId":"10001","userSign":"s"}'))).toEqual({
      userId: "10001",
      userSign: "s",
    });
  });

  it("lets an empty body and a `null` body through as {} (spec §2.1)", () => {
    expect(decodeBody(9999, J, new Uint8Array(0))).toEqual({});
    expect(decodeBody(9999, J, utf8("null"))).toEqual({});
  });

  it("ignores LOGOUT bodies in both encodings", () => {
    expect(decodeBody(9003, J, utf8("[garbage"))).toEqual({});
    expect(decodeBody(9003, P, new Uint8Array([0xff, 0xff]))).toEqual({});
  });

  it("decodes Protobuf to the same JSON shape as the JSON encoding", () => {
    const body = encodeData(1103, P, MESSAGE);
    expect(body.length).toBeLessThan(utf8(JSON.stringify(MESSAGE)).length);
    expect(decodeBody(1103, P, body)).toEqual(MESSAGE);
  });

  it("round-trips the ACK of spec §2.2 through Protobuf", () => {
    const ack = { code: 200, data: { messageId: "m1", messageSequence: 1 }, msg: "success", ok: true };
    expect(decodeBody(1046, P, encodeData(1046, P, ack))).toEqual(ack);
    expect(new TextDecoder().decode(encodeData(1046, J, ack))).toBe(
      '{"code":200,"data":{"messageId":"m1","messageSequence":1},"msg":"success","ok":true}',
    );
  });

  it.each([
    ["invalid JSON", J, 1103, utf8('{"fromId":'), "invalid-json"],
    ["invalid UTF-8", J, 1103, new Uint8Array([0x7b, 0xff, 0x7d]), "invalid-json"],
    ["a JSON array", J, 1103, utf8("[1,2]"), "not-json-object"],
    ["a JSON string", J, 1103, utf8('"x"'), "not-json-object"],
    ["a JSON number", J, 1103, utf8("42"), "not-json-object"],
    ["a JSON boolean", J, 9000, utf8("true"), "not-json-object"],
    ["Protobuf garbage (wire type 7)", P, 1103, new Uint8Array([0xff, 0xff, 0xff, 0xff]), "invalid-protobuf"],
    ["truncated Protobuf", P, 1103, encodeData(1103, P, MESSAGE).subarray(0, 10), "invalid-protobuf"],
    ["Protobuf for a command without payload", P, 9005, new Uint8Array(0), "unknown-command"],
    ["messageType 2 (XML)", 2, 1103, utf8("{}"), "unsupported-encoding"],
    ["messageType -1", -1, 1103, utf8("{}"), "unsupported-encoding"],
  ])("refuses %s with a catalogued reason", (_, type, command, body, reason) => {
    expect(reasonOf(() => decodeBody(command, type, body))).toBe(reason);
  });

  it("refuses a Protobuf int64 beyond 2^53 instead of losing precision", () => {
    // field 8 (messageKey), varint 2^60
    const body = new Uint8Array([0x40, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(reasonOf(() => decodeBody(1103, P, body))).toBe("invalid-protobuf");
  });
});

describe("encodeData and the Protobuf push", () => {
  it("round-trips the gateway's error frame (ResponseVo with any JSON data) through Protobuf", () => {
    const error = { code: 60002, data: { command: 1103, messageId: "m1" }, msg: "操作人不存在", ok: false };
    expect(decodeBody(Command.COMMAND_ERROR, P, encodeData(Command.COMMAND_ERROR, P, error))).toEqual(error);
  });

  it("refuses data that cannot be encoded as the command's message", () => {
    expect(reasonOf(() => encodeData(1103, P, { appId: "not a number" }))).toBe("invalid-protobuf");
    expect(reasonOf(() => encodeData(9005, P, {}))).toBe("unknown-command");
    expect(reasonOf(() => encodeData(1103, 7, {}))).toBe("unsupported-encoding");
  });

  it("transcodes data JSON from the bus to the payload message, `null` to the empty message", () => {
    const protobuf = jsonDataToProtobuf(1103, utf8(JSON.stringify(MESSAGE)));
    expect(decodeBody(1103, P, protobuf)).toEqual(MESSAGE);
    expect(jsonDataToProtobuf(9002, utf8("null"))).toEqual(new Uint8Array(0));
    const frame = decodeServerFrame(encodeProtobufPush(1103, utf8(JSON.stringify(MESSAGE))), 1024);
    expect(frame).toEqual({ command: 1103, payload: protobuf });
  });

  it("parseJsonObject refuses bus data that is not an object", () => {
    expect(reasonOf(() => parseJsonObject(utf8("[]")))).toBe("not-json-object");
  });
});
