/**
 * Sizes and offsets of the wire protocol's frames (spec §2.1–§2.3). Every integer in a header is a
 * signed 32-bit big-endian value (Netty `readInt`).
 */

/** Length of the client→server header: seven int32 values (the original's PACKET_CODEC_LENGTH). */
export const HEADER_BYTES = 28;

/**
 * Byte offsets of the client→server header fields, in the order the original's decoder reads them
 * (spec §2.1 and pitfall 1; the README's diagram is wrong, D34).
 */
export const HeaderOffset = {
  COMMAND: 0,
  VERSION: 4,
  CLIENT_TYPE: 8,
  MESSAGE_TYPE: 12,
  APP_ID: 16,
  IMEI_LENGTH: 20,
  BODY_LENGTH: 24,
} as const;

/** Length of the server→client header: command and payload length, two int32 (spec §2.2, §2.3). */
export const SERVER_HEADER_BYTES = 8;

/** Byte offsets of the server→client header fields. */
export const ServerHeaderOffset = {
  COMMAND: 0,
  LENGTH: 4,
} as const;

/**
 * Body encodings carried in the header's `messageType` (spec §2.1). 0 is the original's JSON; 1 is
 * Protobuf (new: the original declared it and dropped such bodies, D33). Any other value is refused.
 */
export const MessageEncoding = {
  JSON: 0,
  PROTOBUF: 1,
} as const;

/** One of the MessageEncoding values. */
export type MessageEncoding = (typeof MessageEncoding)[keyof typeof MessageEncoding];

/** True when `value` is a body encoding this codec implements. */
export function isMessageEncoding(value: number): value is MessageEncoding {
  return value === MessageEncoding.JSON || value === MessageEncoding.PROTOBUF;
}

/**
 * Default bound on `imeiLength + bodyLength` of one client frame and on the payload of one server
 * frame: 64 KiB, like the original's WebSocket frame limit (spec §2.3).
 */
export const DEFAULT_MAX_FRAME_BYTES = 65_536;

/**
 * Longest imei accepted, in bytes. The imei becomes part of kv field names (`{clientType}:{imei}`,
 * spec §4.2), so a client may not make it arbitrarily long; device ids are far shorter in practice.
 */
export const MAX_IMEI_BYTES = 256;
