import { SERVER_HEADER_BYTES } from "./constants.js";
import { joinFrame } from "./frame-memory.js";
import { encodeServerFrame, encodeServerFrameText, writeServerHeader } from "./server-frame.js";
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

/** encodeTcpPush for data serialised as text (`JSON.stringify`), encoded into the frame in one step. */
export function encodeTcpPushText(command: number, dataJson: string): Uint8Array {
  return encodeServerFrameText(command, dataJson);
}

/**
 * Encodes a push to a JSON connection over WebSocket: `command + length + whole MessagePack JSON`
 * (spec §2.3), keys in fastjson's alphabetical order (appId, clientType, command, data, imei,
 * messageId, toId, userId). `dataJson` must be one serialised JSON value, as bytes or as text; it
 * is spliced in, never re-parsed (the fast path for data that arrives serialised from the bus).
 * When `dataJson` is undefined the `data` key is omitted (the MUTALOGIN shape of spec §2.3).
 */
export function encodeWsPush(pack: WsPackFields, dataJson: Uint8Array | string | undefined): Uint8Array {
  return encodeWsPushWith(wsPackTemplate(pack), pack.command, dataJson);
}

/**
 * The text of a WebSocket pack around its `command` and `data`: what stays the same for every
 * frame to one logged-in connection, so a connection builds it once (see encodeWsPushWith).
 */
export interface WsPackTemplate {
  /** `{"appId":…,"clientType":…,"command":` */
  readonly beforeCommand: string;
  /** `,"imei":…,"messageId":…,"toId":…,"userId":…}` (absent fields omitted) */
  readonly afterData: string;
}

/** The template of `fields` (their `command`, if any, is not part of it). */
export function wsPackTemplate(fields: Omit<WsPackFields, "command">): WsPackTemplate {
  let beforeCommand = "{";
  if (fields.appId !== undefined) beforeCommand += `"appId":${jsonNumber(fields.appId)},`;
  beforeCommand += `"clientType":${jsonNumber(fields.clientType ?? 0)},"command":`;
  let afterData = "";
  if (fields.imei !== undefined) afterData += `,"imei":${JSON.stringify(fields.imei)}`;
  if (fields.messageId !== undefined) afterData += `,"messageId":${JSON.stringify(fields.messageId)}`;
  if (fields.toId !== undefined) afterData += `,"toId":${JSON.stringify(fields.toId)}`;
  if (fields.userId !== undefined) afterData += `,"userId":${JSON.stringify(fields.userId)}`;
  afterData += "}";
  return { beforeCommand, afterData };
}

/**
 * encodeWsPush with the pack's other fields from a template: the same bytes as encodeWsPush of
 * those fields and `command`, the texts encoded straight into the frame (frame-memory.ts).
 */
export function encodeWsPushWith(
  template: WsPackTemplate,
  command: number,
  dataJson: Uint8Array | string | undefined,
): Uint8Array {
  const head = template.beforeCommand + jsonNumber(command);
  let parts: (string | Uint8Array)[];
  if (dataJson === undefined) parts = [head + template.afterData];
  // Texts are joined before encoding (one encode instead of three); every seam is an ASCII
  // character, so the bytes are those of encoding each piece on its own.
  else if (typeof dataJson === "string") parts = [`${head},"data":${dataJson}${template.afterData}`];
  else parts = [`${head},"data":`, dataJson, template.afterData];
  return writeServerHeader(joinFrame(SERVER_HEADER_BYTES, parts), command);
}

/** A JSON number literal; non-finite values would make invalid JSON, so they are refused. */
function jsonNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  return String(value);
}
