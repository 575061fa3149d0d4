import { describe, expect, it } from "vitest";
import { chunkings, concat, feed, hex } from "../../test/wire/chunkings.js";
import { FrameError } from "./frame-error.js";
import {
  decodeServerFrame,
  encodeServerFrame,
  type ServerFrame,
  ServerFrameDecoder,
} from "./server-frame.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

// Spec §2.2: the P2P ACK over raw TCP, `00000416 00000054 {...}` (84 bytes of JSON).
const ACK_JSON = '{"code":200,"data":{"messageId":"m1","messageSequence":1},"msg":"success","ok":true}';
const ACK_BYTES = concat([hex("00000416 00000054"), utf8(ACK_JSON)]);
const ACK: ServerFrame = { command: 1046, payload: utf8(ACK_JSON) };
const MAX = 1024;

describe("encodeServerFrame", () => {
  it("writes the spec's ACK frame byte for byte", () => {
    expect(utf8(ACK_JSON).length).toBe(0x54);
    expect(encodeServerFrame(1046, utf8(ACK_JSON))).toEqual(ACK_BYTES);
  });
});

describe("ServerFrameDecoder", () => {
  it.each(chunkings(ACK_BYTES))("decodes the spec's ACK fed as $name", ({ chunks }) => {
    const decoder = new ServerFrameDecoder({ maxFrameBytes: MAX });
    expect(feed((c) => decoder.push(c), chunks)).toEqual([ACK]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  const stream: ServerFrame[] = [
    ACK,
    { command: 9002, payload: utf8("null") },
    { command: 9001, payload: new Uint8Array(0) },
    { command: 1103, payload: utf8('{"fromId":"a","messageKey":1}') },
  ];
  const streamBytes = concat(stream.map((f) => encodeServerFrame(f.command, f.payload)));

  it.each(chunkings(streamBytes))("decodes a stream of four frames fed as $name", ({ chunks }) => {
    const decoder = new ServerFrameDecoder({ maxFrameBytes: MAX });
    expect(feed((c) => decoder.push(c), chunks)).toEqual(stream);
  });

  it.each([
    ["a negative length", hex("00000416 ffffffff"), "negative-length"],
    ["a length over the bound", hex("00000416 00000401"), "frame-too-large"],
  ])("refuses %s before allocating, and stays failed", (_, bytes, reason) => {
    const decoder = new ServerFrameDecoder({ maxFrameBytes: MAX });
    expect(() => decoder.push(bytes)).toThrowError(expect.objectContaining({ reason }));
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.push(ACK_BYTES)).toThrowError(FrameError);
  });
});

describe("decodeServerFrame (one WebSocket message)", () => {
  it("decodes the spec's ACK", () => {
    expect(decodeServerFrame(ACK_BYTES, MAX)).toEqual(ACK);
  });

  it.each([
    ["shorter than the header", ACK_BYTES.subarray(0, 7), "truncated"],
    ["missing payload bytes", ACK_BYTES.subarray(0, ACK_BYTES.length - 1), "truncated"],
    ["with trailing bytes", concat([ACK_BYTES, new Uint8Array(2)]), "trailing-bytes"],
    ["over the bound", ACK_BYTES, "frame-too-large"],
  ])("refuses a message %s", (_, bytes, reason) => {
    const max = reason === "frame-too-large" ? 10 : MAX;
    expect(() => decodeServerFrame(bytes, max)).toThrowError(expect.objectContaining({ reason }));
  });
});
