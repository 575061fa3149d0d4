import { describe, expect, it } from "vitest";
import { allocFrame, joinFrame } from "./frame-memory.js";

const encoder = new TextEncoder();
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** What joinFrame must equal: headroom zeros, then each part's TextEncoder bytes in order. */
function expected(headroom: number, parts: readonly (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  const out = new Uint8Array(headroom + bytes.reduce((n, b) => n + b.length, 0));
  let at = headroom;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

describe("joinFrame", () => {
  const cases: Array<[string, readonly (string | Uint8Array)[]]> = [
    ["nothing", []],
    ["an empty text", [""]],
    ["ascii", ['{"code":200,"msg":"success","ok":true}']],
    ["text, bytes, text", ['{"command":1103,"data":', encoder.encode('{"a":"é"}'), ',"toId":"u"}']],
    ["multi-byte and astral characters", ["héllo wörld ✓ 𝄞 中文"]],
    // TextEncoder writes U+FFFD for a lone surrogate; joinFrame must do the same.
    ["lone surrogates", ["a\ud800b", "\udc00", "x\ud83d"]],
    ["a frame too large for the slab", ["é".repeat(3_000), encoder.encode("mid"), "z".repeat(2_000)]],
    ["many parts", Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? encoder.encode(`b${i}`) : `t${i}ü`))],
  ];

  it.each(cases)("gives the parts' bytes after the headroom: %s", (_name, parts) => {
    for (const headroom of [0, 8]) {
      // Compared as hex: a diff of hex is readable, and toEqual on large arrays is slow.
      expect(hex(joinFrame(headroom, parts))).toBe(hex(expected(headroom, parts)));
    }
  });

  it("matches TextEncoder on random texts", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 300; i++) {
      const units = Array.from({ length: next() % 40 }, () => {
        const r = next() % 10;
        // Mostly ASCII, some BMP, some surrogate halves (paired or not).
        return r < 6 ? next() % 0x80 : r < 8 ? next() % 0xd800 : 0xd800 + (next() % 0x800);
      });
      const text = String.fromCharCode(...units);
      expect(hex(joinFrame(8, [text, text]))).toBe(hex(expected(8, [text, text])));
    }
  });
});

describe("frame memory", () => {
  it("never lets a later frame overwrite an earlier one, across slabs", () => {
    const frames: Array<[Uint8Array, string]> = [];
    for (let i = 0; i < 2_000; i++) {
      const text = `frame ${i} ${"x".repeat(i % 300)}`;
      const frame = i % 2 === 0 ? joinFrame(8, [text]) : allocFrame(8 + text.length);
      if (i % 2 === 1) frame.set(encoder.encode(text), 8);
      frames.push([frame, text]);
    }
    for (const [frame, text] of frames) {
      expect(frame.length).toBe(8 + text.length);
      expect(new TextDecoder().decode(frame.subarray(8))).toBe(text);
    }
  });

  it("hands out zero-filled frames, small (from a slab) and large (their own array)", () => {
    for (const length of [0, 1, 100, 4096, 4097, 70_000]) {
      const frame = allocFrame(length);
      expect(frame.length).toBe(length);
      expect(frame.every((b) => b === 0)).toBe(true);
    }
    expect(allocFrame(70_000).byteOffset).toBe(0);
  });
});
