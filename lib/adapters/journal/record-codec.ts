import { crc32 } from "node:zlib";

/**
 * The bus journal's on-disk records. Every record is one frame:
 *
 * ```
 * u32 LE  payload length (>= 1)
 * u32 LE  CRC32 of the payload
 * payload u8 kind, then by kind:
 *   PUB (1): u48 LE id, u16 LE queue length, queue (UTF-8), u32 LE headers length,
 *            headers (UTF-8 JSON object of strings), body (the rest)
 *   ACK (2): u48 LE id
 * ```
 *
 * The length and the checksum let a reader find where a crash tore the last
 * write ({@link scanRecords}): a short frame, a zero or absurd length, a CRC
 * mismatch or an unknown kind ends the good part of a file.
 */

/** A published message kept until its consumer is done with it. */
export interface PubRecord {
  kind: "pub";
  id: number;
  queue: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The consumer is done with message `id` (or the publish was withdrawn). */
export interface AckRecord {
  kind: "ack";
  id: number;
}

export type JournalRecord = PubRecord | AckRecord;

/** Bytes of the frame header: length + CRC32. */
export const FRAME_HEADER_BYTES = 8;
/** Largest payload a reader accepts; a larger length is taken for garbage (a torn write). */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Ids are stored in 48 bits: far more than one journal ever hands out. */
const ID_BYTES = 6;
const KIND_PUB = 1;
const KIND_ACK = 2;

/** Encodes a PUB record as one frame. */
export function encodePub(record: Omit<PubRecord, "kind">): Buffer {
  const queue = Buffer.from(record.queue, "utf8");
  if (queue.length > 0xffff) throw new RangeError(`bus journal: queue name too long (${queue.length} bytes)`);
  const headers = Buffer.from(JSON.stringify(record.headers), "utf8");
  const payloadBytes = 1 + ID_BYTES + 2 + queue.length + 4 + headers.length + record.body.length;
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`bus journal: message of ${payloadBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  let at = FRAME_HEADER_BYTES;
  at = frame.writeUInt8(KIND_PUB, at);
  at = frame.writeUIntLE(record.id, at, ID_BYTES);
  at = frame.writeUInt16LE(queue.length, at);
  at += queue.copy(frame, at);
  at = frame.writeUInt32LE(headers.length, at);
  at += headers.copy(frame, at);
  frame.set(record.body, at);
  return seal(frame);
}

/** Encodes an ACK record as one frame. */
export function encodeAck(id: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + ID_BYTES);
  frame.writeUInt8(KIND_ACK, FRAME_HEADER_BYTES);
  frame.writeUIntLE(id, FRAME_HEADER_BYTES + 1, ID_BYTES);
  return seal(frame);
}

/** What {@link scanRecords} found in a file's bytes. */
export interface ScanResult {
  records: JournalRecord[];
  /** Bytes from the start that hold whole, valid frames; the rest is a torn (or corrupt) tail. */
  goodBytes: number;
}

/** Decodes frames from the start of `bytes` up to the first one that is torn or corrupt. */
export function scanRecords(bytes: Buffer): ScanResult {
  const records: JournalRecord[] = [];
  let at = 0;
  while (bytes.length - at >= FRAME_HEADER_BYTES) {
    const length = bytes.readUInt32LE(at);
    // Zero length matters: a file extended with zeros by a crash would otherwise pass (CRC32 of nothing is 0).
    if (length < 1 || length > MAX_PAYLOAD_BYTES || bytes.length - at - FRAME_HEADER_BYTES < length) break;
    const payload = bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
    if (crc32(payload) !== bytes.readUInt32LE(at + 4)) break;
    const record = decodePayload(payload);
    if (record === undefined) break;
    records.push(record);
    at += FRAME_HEADER_BYTES + length;
  }
  return { records, goodBytes: at };
}

function seal(frame: Buffer): Buffer {
  const payload = frame.subarray(FRAME_HEADER_BYTES);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  return frame;
}

/** The record in a checksummed payload, or undefined when it does not parse (treated as torn). */
function decodePayload(p: Buffer): JournalRecord | undefined {
  try {
    const kind = p.readUInt8(0);
    const id = p.readUIntLE(1, ID_BYTES);
    if (kind === KIND_ACK) return p.length === 1 + ID_BYTES ? { kind: "ack", id } : undefined;
    if (kind !== KIND_PUB) return undefined;
    let at = 1 + ID_BYTES;
    const queueLength = p.readUInt16LE(at);
    at += 2;
    if (at + queueLength + 4 > p.length) return undefined;
    const queue = p.toString("utf8", at, at + queueLength);
    at += queueLength;
    const headersLength = p.readUInt32LE(at);
    at += 4;
    if (at + headersLength > p.length) return undefined;
    const headers = JSON.parse(p.toString("utf8", at, at + headersLength)) as Record<string, string>;
    at += headersLength;
    return { kind: "pub", id, queue, headers, body: new Uint8Array(p.subarray(at)) };
  } catch {
    return undefined; // a checksummed payload that does not parse: written by something else
  }
}
