import { describe, expect, it } from "vitest";
import { hex } from "../../test/wire/chunkings.js";
import { encodeTcpPush, encodeTcpPushText, encodeWsPush, NULL_JSON } from "./push.js";
import { decodeServerFrame, encodeServerFrame, encodeServerFrameText } from "./server-frame.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("encodeTcpPush", () => {
  it("sends data only (spec §2.2), and `null` for MUTALOGIN", () => {
    const data = '{"code":200,"data":{"messageId":"m1","messageSequence":1},"msg":"success","ok":true}';
    const frame = decodeServerFrame(encodeTcpPush(1046, utf8(data)), 1024);
    expect(frame).toEqual({ command: 1046, payload: utf8(data) });
    expect(encodeTcpPush(9002, NULL_JSON)).toEqual(hex("0000232a 00000004 6e756c6c"));
  });

  it("gives the same bytes for data given as text", () => {
    const data = '{"code":60005,"data":{"command":1103},"msg":"héllo ✓","ok":false}';
    expect(encodeTcpPushText(9006, data)).toEqual(encodeTcpPush(9006, utf8(data)));
    expect(encodeServerFrameText(-5, "")).toEqual(encodeServerFrame(-5, new Uint8Array(0)));
  });
});

describe("encodeWsPush", () => {
  it("writes the whole pack with fastjson's key order and the data bytes spliced in (spec §2.3)", () => {
    const data = '{"fromId":"10001","messageBody":"héllo","messageKey":42}';
    const bytes = encodeWsPush(
      { toId: "10002", imei: "web", command: 1103, clientType: 1, appId: 10001 },
      utf8(data),
    );
    const frame = decodeServerFrame(bytes, 1024);
    expect(frame.command).toBe(1103);
    expect(text(frame.payload)).toBe(
      `{"appId":10001,"clientType":1,"command":1103,"data":${data},"imei":"web","toId":"10002"}`,
    );
  });

  it("gives the same bytes for data given as text", () => {
    const pack = { appId: 10001, clientType: 1, command: 9006, imei: "wéb", toId: "u\ud800" };
    const data = '{"code":60005,"data":{"command":1103,"messageId":"m"},"msg":"no ✓","ok":false}';
    expect(encodeWsPush(pack, data)).toEqual(encodeWsPush(pack, utf8(data)));
    const frame = decodeServerFrame(encodeWsPush(pack, data), 1024);
    expect(JSON.parse(text(frame.payload))).toEqual({ ...pack, data: JSON.parse(data) });
  });

  it("writes the MUTALOGIN shape without data, clientType defaulting to 0", () => {
    const frame = decodeServerFrame(
      encodeWsPush({ command: 9002, toId: "u1", userId: "u1" }, undefined),
      1024,
    );
    expect(text(frame.payload)).toBe('{"clientType":0,"command":9002,"toId":"u1","userId":"u1"}');
  });

  it("escapes string fields so the pack stays valid JSON", () => {
    const frame = decodeServerFrame(
      encodeWsPush({ command: 1046, imei: 'a"b\\c\n', messageId: "m" }, utf8("{}")),
      1024,
    );
    expect(JSON.parse(text(frame.payload))).toEqual({
      clientType: 0,
      command: 1046,
      data: {},
      imei: 'a"b\\c\n',
      messageId: "m",
    });
  });

  it("refuses a non-finite number, which would make invalid JSON", () => {
    expect(() => encodeWsPush({ command: 1046, appId: Number.NaN }, undefined)).toThrowError(RangeError);
  });
});
