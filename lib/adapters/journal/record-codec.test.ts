import { describe, expect, it } from "vitest";
import { encodeAck, encodePub, FRAME_HEADER_BYTES, scanRecords } from "./record-codec.js";

const pub = (id: number, body: string) =>
  encodePub({ id, queue: "store.p2p", headers: { traceId: "t-é" }, body: new TextEncoder().encode(body) });

describe("journal record codec", () => {
  it("round-trips PUB and ACK records, ids up to 48 bits", () => {
    const bytes = Buffer.concat([pub(1, "hello"), encodeAck(1), pub(2 ** 48 - 1, ""), encodeAck(2 ** 40)]);
    const { records, goodBytes } = scanRecords(bytes);
    expect(goodBytes).toBe(bytes.length);
    expect(records).toEqual([
      {
        kind: "pub",
        id: 1,
        queue: "store.p2p",
        headers: { traceId: "t-é" },
        body: new Uint8Array(Buffer.from("hello")),
      },
      { kind: "ack", id: 1 },
      {
        kind: "pub",
        id: 2 ** 48 - 1,
        queue: "store.p2p",
        headers: { traceId: "t-é" },
        body: new Uint8Array(),
      },
      { kind: "ack", id: 2 ** 40 },
    ]);
  });

  it("stops at a torn last frame, wherever the write was cut", () => {
    const whole = Buffer.concat([pub(1, "a"), encodeAck(1)]);
    const last = pub(2, "the torn one");
    for (let cut = 0; cut < last.length; cut++) {
      const { records, goodBytes } = scanRecords(Buffer.concat([whole, last.subarray(0, cut)]));
      expect(goodBytes).toBe(whole.length);
      expect(records.map((r) => r.id)).toEqual([1, 1]);
    }
  });

  it("stops at a zero-filled tail (a file extended by a crash) and at a flipped bit", () => {
    const good = pub(1, "kept");
    expect(scanRecords(Buffer.concat([good, Buffer.alloc(64)])).goodBytes).toBe(good.length);
    const flipped = pub(2, "damaged");
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0x01;
    const scan = scanRecords(Buffer.concat([good, flipped, pub(3, "after")]));
    expect(scan.goodBytes).toBe(good.length);
    expect(scan.records.map((r) => r.id)).toEqual([1]);
  });

  it("rejects an absurd length without allocating for it", () => {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32LE(0xffffffff, 0);
    expect(scanRecords(Buffer.concat([pub(1, "x"), header, Buffer.alloc(100)])).records).toHaveLength(1);
  });
});
