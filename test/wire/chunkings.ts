/**
 * Ways to cut a byte stream into chunks, for streaming-decoder tests (docs/style.md §8: every case is fed as
 * one chunk, byte by byte, and split at every boundary).
 */

/** Parses spaced hex ("0000 2328 7b22") into bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A named way of cutting `bytes`. */
export interface Chunking {
  readonly name: string;
  readonly chunks: readonly Uint8Array[];
}

/** One chunk, byte by byte, then a two-way split at every inner boundary. */
export function chunkings(bytes: Uint8Array): Chunking[] {
  const result: Chunking[] = [
    { name: "one chunk", chunks: [bytes] },
    { name: "byte by byte", chunks: Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) },
  ];
  for (let i = 1; i < bytes.length; i++) {
    result.push({ name: `split at ${i}`, chunks: [bytes.subarray(0, i), bytes.subarray(i)] });
  }
  return result;
}

/** Feeds `chunks` in order to `push` and collects every result. */
export function feed<T>(push: (chunk: Uint8Array) => T[], chunks: readonly Uint8Array[]): T[] {
  const out: T[] = [];
  for (const chunk of chunks) out.push(...push(chunk));
  return out;
}

/** Deterministic PRNG (mulberry32), so fuzz runs are reproducible from their seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
