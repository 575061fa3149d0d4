/**
 * Redis Cluster's key → slot mapping (the cluster specification: CRC16-XMODEM of the key, or of
 * its hash tag, modulo 16384). The kv adapter needs it to split one turn's operations into one
 * script call per slot, since a cluster refuses a script whose keys span slots (CROSSSLOT).
 */

export const SLOT_COUNT = 16_384;

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), one byte at a time. */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0);
  return crc;
}

/**
 * The part of a key that is hashed: the text between the first `{` and the next `}` when that is
 * not empty (a hash tag), else the whole key. Bytes, as Redis compares them (UTF-8).
 */
export function hashedPart(key: Uint8Array): Uint8Array {
  const open = key.indexOf(0x7b); // {
  if (open === -1) return key;
  const close = key.indexOf(0x7d, open + 1); // }
  if (close === -1 || close === open + 1) return key;
  return key.subarray(open + 1, close);
}

/** The cluster slot (0..16383) of a key, exactly as the full key (prefix included) reaches Redis. */
export function keySlot(key: string): number {
  return crc16(hashedPart(Buffer.from(key, "utf8"))) % SLOT_COUNT;
}
