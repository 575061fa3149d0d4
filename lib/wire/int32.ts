/**
 * Big-endian int32 reads and writes on a Uint8Array, the only integer type of the frame headers
 * (spec §2). The same values as DataView.getInt32 / setInt32 (writes wrap through ToInt32), without
 * a DataView object per frame header.
 */

/** The signed big-endian int32 at `offset` (the caller has checked that 4 bytes are there). */
export function readInt32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) << 24) |
    ((bytes[offset + 1] as number) << 16) |
    ((bytes[offset + 2] as number) << 8) |
    (bytes[offset + 3] as number)
  );
}

/** Writes `value` (wrapped to int32) big-endian at `offset`. */
export function writeInt32(bytes: Uint8Array, offset: number, value: number): void {
  const v = value | 0;
  bytes[offset] = v >>> 24;
  bytes[offset + 1] = v >>> 16;
  bytes[offset + 2] = v >>> 8;
  bytes[offset + 3] = v;
}
