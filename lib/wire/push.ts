import { SERVER_HEADER_BYTES, ServerHeaderOffset } from "./constants.js";
import { encodeServerFrame } from "./server-frame.js";
import { utf8Encode } from "./utf8.js";

/** The JSON text `null`: the TCP payload of a push without data, e.g. MUTALOGIN 9002 (spec §2.2). */
export const NULL_JSON: Uint8Array = utf8Encode("null");

/**
 * The MessagePack fields written around `data` in a WebSocket push (spec §2.3, §2.4). Absent fields
 * are omitted, as fastjson omitted nulls; `clientType` is a Java primitive, so it is always written
 * (0 when unset).
 */
export interface WsPackFields {
  appId?: number | undefined;
  clientType?: number | undefined;
  command: number;
  imei?: string | undefined;
  messageId?: string | undefined;
  toId?: string | undefined;
  userId?: string | undefined;
}

/**
 * Encodes a push to a JSON connection over raw TCP: `command + length + data JSON` (spec §2.2).
 * `dataJson` is written as given (already serialised, e.g. straight from the bus); pass NULL_JSON
 * when there is no data.
 */
export function encodeTcpPush(command: number, dataJson: Uint8Array): Uint8Array {
  return encodeServerFrame(command, dataJson);
}

/**
 * Encodes a push to a JSON connection over WebSocket: `command + length + whole MessagePack JSON`
 * (spec §2.3), keys in fastjson's alphabetical order (appId, clientType, command, data, imei,
 * messageId, toId, userId). `dataJson` must be one serialised JSON value; it is spliced in as bytes,
 * never re-parsed (the fast path for data that arrives serialised from the bus). When `dataJson` is
 * undefined the `data` key is omitted (the MUTALOGIN shape of spec §2.3).
 */
export function encodeWsPush(pack: WsPackFields, dataJson: Uint8Array | undefined): Uint8Array {
  let head = "{";
  if (pack.appId !== undefined) head += `"appId":${jsonNumber(pack.appId)},`;
  head += `"clientType":${jsonNumber(pack.clientType ?? 0)},"command":${jsonNumber(pack.command)}`;
  let tail = "";
  if (pack.imei !== undefined) tail += `,"imei":${JSON.stringify(pack.imei)}`;
  if (pack.messageId !== undefined) tail += `,"messageId":${JSON.stringify(pack.messageId)}`;
  if (pack.toId !== undefined) tail += `,"toId":${JSON.stringify(pack.toId)}`;
  if (pack.userId !== undefined) tail += `,"userId":${JSON.stringify(pack.userId)}`;
  tail += "}";
  if (dataJson === undefined) return encodeServerFrame(pack.command, utf8Encode(head + tail));

  const headBytes = utf8Encode(`${head},"data":`);
  const tailBytes = utf8Encode(tail);
  const length = headBytes.length + dataJson.length + tailBytes.length;
  const out = new Uint8Array(SERVER_HEADER_BYTES + length);
  const view = new DataView(out.buffer);
  view.setInt32(ServerHeaderOffset.COMMAND, pack.command);
  view.setInt32(ServerHeaderOffset.LENGTH, length);
  out.set(headBytes, SERVER_HEADER_BYTES);
  out.set(dataJson, SERVER_HEADER_BYTES + headBytes.length);
  out.set(tailBytes, SERVER_HEADER_BYTES + headBytes.length + dataJson.length);
  return out;
}

/** A JSON number literal; non-finite values would make invalid JSON, so they are refused. */
function jsonNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return String(value);
}
