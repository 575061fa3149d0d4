import { describe, expect, it } from "vitest";
import { chunkings, concat, feed, hex } from "../../test/wire/chunkings.js";
import { BodyError } from "./body-error.js";
import { type ClientFrame, encodeClientFrame } from "./client-frame.js";
import { ClientFrameDecoder, decodeClientFrame } from "./client-frame-decoder.js";
import { HEADER_BYTES, MAX_IMEI_BYTES } from "./constants.js";
import { FrameError } from "./frame-error.js";
import { decodeBody } from "./payloads.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

// Spec §2.1: command 9000, version 1, clientType 1, messageType 0, appId 10001, imei "web".
const LOGIN_HEX =
  "00002328 00000001 00000001 00000000 00002711 00000003 00000012 776562 7b22757365724964223a223130303031227d";
const LOGIN: ClientFrame = {
  command: 9000,
  version: 1,
  clientType: 1,
  messageType: 0,
  appId: 10001,
  imei: "web",
  body: utf8('{"userId":"10001"}'),
};

const MAX = 1024;

function frame(overrides: Partial<ClientFrame>): ClientFrame {
  return { ...LOGIN, ...overrides };
}

/** Header bytes with the given imei and body lengths, nothing after them. */
function header(imeiLength: number, bodyLength: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, 1103);
  view.setInt32(20, imeiLength);
  view.setInt32(24, bodyLength);
  return bytes;
}

describe("encodeClientFrame", () => {
  it("writes the spec's LOGIN frame byte for byte (49 bytes)", () => {
    const bytes = encodeClientFrame(LOGIN);
    expect(bytes.length).toBe(49);
    expect(bytes).toEqual(hex(LOGIN_HEX));
  });

  it("counts the imei in UTF-8 bytes, not characters", () => {
    const bytes = encodeClientFrame(frame({ imei: "设备" }));
    expect(new DataView(bytes.buffer).getInt32(20)).toBe(6);
    expect(decodeClientFrame(bytes, MAX).imei).toBe("设备");
  });
});

describe("ClientFrameDecoder", () => {
  it.each(chunkings(hex(LOGIN_HEX)))("decodes the spec's LOGIN frame fed as $name", ({ chunks }) => {
    const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
    expect(feed((c) => decoder.push(c), chunks)).toEqual([LOGIN]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  const stream = [
    frame({}),
    frame({ command: 9999, imei: "", body: new Uint8Array(0) }),
    frame({ command: 1103, clientType: 3, imei: "android-1", body: utf8('{"messageId":"m1","toId":"b"}') }),
    frame({ command: 9003, messageType: 1, body: new Uint8Array(0) }),
    frame({ command: 2104, imei: "ios", body: new Uint8Array([0, 1, 2, 255]) }),
  ];
  const streamBytes = concat(stream.map(encodeClientFrame));

  it.each(chunkings(streamBytes))("decodes a stream of five frames fed as $name", ({ chunks }) => {
    const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
    expect(feed((c) => decoder.push(c), chunks)).toEqual(stream);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("waits for more bytes instead of failing below 28 bytes (D20)", () => {
    const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
    const bytes = hex(LOGIN_HEX);
    expect(decoder.push(bytes.subarray(0, 27))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(27);
    expect(decoder.push(bytes.subarray(27, 40))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(40);
    expect(decoder.push(bytes.subarray(40))).toEqual([LOGIN]);
  });

  it("returns frames that do not alias the pushed chunk", () => {
    const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
    const bytes = hex(LOGIN_HEX);
    const [decoded] = decoder.push(bytes);
    bytes.fill(0);
    expect(decoded?.body).toEqual(LOGIN.body);
  });

  const refusals: Array<[string, Uint8Array, string]> = [
    ["negative imeiLength", header(-1, 0), "negative-length"],
    ["negative bodyLength", header(3, -5), "negative-length"],
    ["bodyLength of 2^31-1", header(0, 0x7fffffff), "frame-too-large"],
    ["imei + body one byte over the bound", header(10, MAX - 9), "frame-too-large"],
    ["imei longer than MAX_IMEI_BYTES", header(MAX_IMEI_BYTES + 1, 0), "imei-too-long"],
    ["invalid UTF-8 imei", concat([header(2, 0), new Uint8Array([0xc3, 0x28])]), "bad-imei"],
  ];

  it.each(refusals)("refuses %s as soon as it is readable, without buffering on", (_, bytes, reason) => {
    for (const { chunks } of chunkings(bytes)) {
      const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
      let error: unknown;
      try {
        feed((c) => decoder.push(c), chunks);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(FrameError);
      expect((error as FrameError).reason).toBe(reason);
      expect(decoder.bufferedBytes).toBe(0);
      // A failed decoder stays failed: the stream is out of step.
      expect(() => decoder.push(new Uint8Array(1))).toThrowError(FrameError);
    }
  });

  it("accepts a frame of exactly maxFrameBytes", () => {
    const body = new Uint8Array(MAX - 3).fill(0x61);
    const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
    expect(decoder.push(encodeClientFrame(frame({ body })))).toEqual([frame({ body })]);
  });
});

describe("decodeClientFrame (one WebSocket message)", () => {
  it("decodes the spec's LOGIN frame", () => {
    expect(decodeClientFrame(hex(LOGIN_HEX), MAX)).toEqual(LOGIN);
  });

  it.each([
    ["shorter than the header", hex(LOGIN_HEX).subarray(0, 27), "truncated"],
    ["missing body bytes", hex(LOGIN_HEX).subarray(0, 48), "truncated"],
    ["with trailing bytes", concat([hex(LOGIN_HEX), new Uint8Array(1)]), "trailing-bytes"],
    ["with a negative length", header(0, -1), "negative-length"],
    ["over the bound", header(0, MAX + 1), "frame-too-large"],
  ])("refuses a message %s", (_, bytes, reason) => {
    expect(() => decodeClientFrame(bytes, MAX)).toThrowError(expect.objectContaining({ reason }));
  });
});

describe("NUL padding after a JSON body (the original's browser clients, issue 14)", () => {
  const text = '{"messageBody":"café ✓"}';
  // The old clients counted each non-ASCII character as 3 bytes: é (2 bytes) and ✓ (3) give 1 NUL.
  const padded = concat([utf8(text), new Uint8Array(1)]);

  it("removes the padding from a JSON body, on TCP in any split and on WebSocket, and says so", () => {
    const bytes = encodeClientFrame(frame({ command: 1103, body: padded }));
    for (const { chunks } of chunkings(bytes)) {
      const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
      const [decoded] = feed((c) => decoder.push(c), chunks);
      expect(new TextDecoder().decode(decoded?.body)).toBe(text);
      expect(decoded?.nulPadding).toBe(1);
    }
    const ws = decodeClientFrame(bytes, MAX);
    expect(new TextDecoder().decode(ws.body)).toBe(text);
    expect(decodeBody(1103, 0, ws.body)).toEqual({ messageBody: "café ✓" });
  });

  it("leaves bodies without padding, Protobuf bodies and other trailing bytes alone", () => {
    expect(decodeClientFrame(encodeClientFrame(LOGIN), MAX).nulPadding).toBeUndefined();
    const protobuf = decodeClientFrame(
      encodeClientFrame(frame({ messageType: 1, body: new Uint8Array([8, 0]) })),
      MAX,
    );
    expect([...protobuf.body]).toEqual([8, 0]);
    for (const tail of ["x", " \0x", "}"]) {
      const body = concat([utf8(text), utf8(tail), new Uint8Array(2)]);
      const decoded = decodeClientFrame(encodeClientFrame(frame({ command: 1103, body })), MAX);
      expect(() => decodeBody(1103, 0, decoded.body)).toThrow(BodyError);
    }
    // An incomplete body stays incomplete without its padding.
    const cut = decodeClientFrame(
      encodeClientFrame(frame({ command: 1103, body: concat([utf8('{"a":1'), new Uint8Array(3)]) })),
      MAX,
    );
    expect(() => decodeBody(1103, 0, cut.body)).toThrow(BodyError);
  });
});
