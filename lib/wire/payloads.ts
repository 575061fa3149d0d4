import { BodyError } from "./body-error.js";
import { MessageEncoding } from "./constants.js";
import { IGNORED_BODY_COMMANDS, type PayloadCodec, payloadTypeOf } from "./payload-types.js";
import { encodeServerFrame } from "./server-frame.js";
import { utf8DecodeStrict, utf8Encode } from "./utf8.js";

export { IGNORED_BODY_COMMANDS, PAYLOAD_TYPES, type PayloadCodec, payloadTypeOf } from "./payload-types.js";
export { encodeTcpPush, encodeWsPush, NULL_JSON, type WsPackFields } from "./push.js";

/** A decoded body or push data: a JSON object with the original's camelCase keys. */
export type JsonObject = { [key: string]: unknown };

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function codecOf(command: number): PayloadCodec {
  const codec = payloadTypeOf(command);
  if (codec === undefined) throw new BodyError("unknown-command", `command ${command}`);
  return codec;
}

/**
 * Parses JSON bytes that must hold an object. Empty bytes and the literal `null` give `{}`: the
 * original parsed both to null and let them through (spec §2.1). Throws BodyError `invalid-json`
 * (bad UTF-8 or syntax) or `not-json-object` (array or scalar; the original crashed on those, D21).
 */
export function parseJsonObject(bytes: Uint8Array): JsonObject {
  if (bytes.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(utf8DecodeStrict(bytes));
  } catch (error) {
    throw new BodyError("invalid-json", error instanceof Error ? error.message : undefined);
  }
  if (value === null) return {};
  if (!isJsonObject(value)) {
    throw new BodyError("not-json-object", Array.isArray(value) ? "array" : typeof value);
  }
  return value;
}

/**
 * Decodes a frame body (C→S) or frame data (S→C) into a JSON object.
 * - JSON (0): the parsed object, as sent (see parseJsonObject).
 * - Protobuf (1): decoded as the command's payload message (PAYLOAD_TYPES), returned in its
 *   proto3 JSON shape with every field present, so both encodings look the same downstream.
 * - Commands whose body is ignored (LOGOUT) give `{}` in either encoding.
 * Throws BodyError only: `unsupported-encoding`, `invalid-json`, `not-json-object`,
 * `unknown-command` (Protobuf for a command without payload) or `invalid-protobuf`.
 */
export function decodeBody(command: number, messageType: number, body: Uint8Array): JsonObject {
  if (messageType === MessageEncoding.JSON) {
    return IGNORED_BODY_COMMANDS.has(command) ? {} : parseJsonObject(body);
  }
  if (messageType !== MessageEncoding.PROTOBUF) {
    throw new BodyError("unsupported-encoding", `messageType ${messageType}`);
  }
  if (IGNORED_BODY_COMMANDS.has(command)) return {};
  const codec = codecOf(command);
  try {
    return codec.toJSON(codec.decode(body)) as JsonObject;
  } catch (error) {
    // ts-proto throws plain Errors/RangeErrors on bad wire types, truncation and unsafe int64s.
    throw new BodyError(
      "invalid-protobuf",
      `${codec.name}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/**
 * Encodes `data` (a JSON object with the original's keys) as a body or push payload.
 * - JSON (0): the UTF-8 of `JSON.stringify(data)`.
 * - Protobuf (1): the command's payload message via `fromJSON` then binary encoding.
 * Throws BodyError: `unsupported-encoding`, `unknown-command`, or `invalid-protobuf` when a field
 * cannot be encoded (for instance a non-numeric int32).
 */
export function encodeData(command: number, messageType: number, data: object): Uint8Array {
  if (messageType === MessageEncoding.JSON) return utf8Encode(JSON.stringify(data));
  if (messageType !== MessageEncoding.PROTOBUF) {
    throw new BodyError("unsupported-encoding", `messageType ${messageType}`);
  }
  const codec = codecOf(command);
  try {
    return codec.encode(codec.fromJSON(data));
  } catch (error) {
    throw new BodyError(
      "invalid-protobuf",
      `${codec.name}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/**
 * Converts already-serialised data JSON (as it arrives from the bus) to the Protobuf encoding of
 * the command's payload; `null` data (MUTALOGIN) becomes the empty message. Throws BodyError.
 */
export function jsonDataToProtobuf(command: number, dataJson: Uint8Array): Uint8Array {
  return encodeData(command, MessageEncoding.PROTOBUF, parseJsonObject(dataJson));
}

/**
 * Encodes a push to a Protobuf connection (messageType 1), the same on TCP and WebSocket:
 * `command + length + Protobuf payload message`. The whole-pack JSON of spec §2.3 is a legacy of
 * the original's JSON WebSocket clients; a Protobuf client reads the routing fields from its own
 * login, so only the payload travels. Throws BodyError.
 */
export function encodeProtobufPush(command: number, dataJson: Uint8Array): Uint8Array {
  return encodeServerFrame(command, jsonDataToProtobuf(command, dataJson));
}
