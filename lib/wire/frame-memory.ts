import { utf8Encode, utf8EncodeInto } from "./utf8.js";

/**
 * Memory for frames: the server frames the encoders build and the client frames the streaming
 * TCP decoder assembles, one array per frame, so its cost is paid per frame.
 *
 * - Small frames are cut from a shared slab, as Node's `Buffer.allocUnsafe` pool does: in Node 20
 *   a `new Uint8Array(n)` of a few hundred bytes is an off-heap allocation of 0.3–0.7 µs plus GC
 *   work later, a slab view under 0.1 µs. Each region of a slab is handed out once, and the slab
 *   is freed when the last frame cut from it is (so a frame held long, e.g. queued to a slow
 *   reader, holds at most one 8 KiB slab). Slabs are fresh memory, so a frame is zero-filled like
 *   a new array; its `byteOffset` is generally not 0 (read frames through `byteOffset`, as every
 *   decoder here does).
 * - Texts are encoded straight into the frame (`encodeInto`): no intermediate array per text.
 * - Larger frames get an array of their own, exactly sized.
 *
 * Browser-safe (Uint8Array and TextEncoder only), single-threaded use.
 */

/** Slab size and the largest frame cut from a slab (Node's Buffer pool uses the same 8 KiB / half). */
const SLAB_BYTES = 8 * 1024;
const MAX_POOLED_BYTES = SLAB_BYTES >>> 1;

let slab = new Uint8Array(0);
let used = 0;

/** A zero-filled array of `length` bytes for one frame (a slab view when small). */
export function allocFrame(length: number): Uint8Array {
  if (length > MAX_POOLED_BYTES) return new Uint8Array(length);
  if (used + length > slab.length) newSlab();
  const frame = slab.subarray(used, used + length);
  used += length;
  return frame;
}

/**
 * One frame of `headroom` zero bytes (room for its header) followed by `parts` joined: texts as
 * their UTF-8 (the bytes utf8Encode gives), byte arrays copied as they are.
 */
export function joinFrame(headroom: number, parts: readonly (string | Uint8Array)[]): Uint8Array {
  // Room for the worst case: 3 bytes per UTF-16 unit of text.
  let room = headroom;
  for (const part of parts) room += typeof part === "string" ? part.length * 3 : part.length;
  if (room > MAX_POOLED_BYTES) return joinUnpooled(headroom, parts);
  if (used + room > slab.length) newSlab();
  const start = used;
  let at = start + headroom;
  for (const part of parts) {
    if (typeof part === "string") {
      if (part.length > 0) at += utf8EncodeInto(part, slab.subarray(at));
    } else {
      slab.set(part, at);
      at += part.length;
    }
  }
  used = at;
  return slab.subarray(start, at);
}

function newSlab(): void {
  slab = new Uint8Array(SLAB_BYTES);
  used = 0;
}

/** joinFrame for a frame too large for the slab: encoded parts copied into an exact array. */
function joinUnpooled(headroom: number, parts: readonly (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((part) => (typeof part === "string" ? utf8Encode(part) : part));
  const out = new Uint8Array(headroom + bytes.reduce((sum, b) => sum + b.length, 0));
  let at = headroom;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
