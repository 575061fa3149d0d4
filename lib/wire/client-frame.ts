import { HEADER_BYTES, HeaderOffset } from "./constants.js";
import { utf8Encode } from "./utf8.js";

/**
 * One client→server frame (spec §2.1): the seven header integers, with imeiLength and bodyLength
 * replaced by the imei text and the body bytes they delimit.
 */
export interface ClientFrame {
  /** Command code (spec §3). */
  command: number;
  /** Client version; read but never used by the original (its demo sends 1). */
  version: number;
  /** Device type, a ClientType value (spec §4.1). */
  clientType: number;
  /** Body encoding, a MessageEncoding value when valid (0 JSON, 1 Protobuf). Not checked here. */
  messageType: number;
  /** Tenant (app) id. */
  appId: number;
  /** Device id, decoded from UTF-8. */
  imei: string;
  /** Raw body bytes, interpreted by payloads.ts according to messageType. */
  body: Uint8Array;
  /**
   * NUL bytes removed from the end of a JSON body (client-frame-decoder.ts): the original's browser
   * clients counted every non-ASCII character as 3 bytes and padded the body with NULs to the
   * length they announced. Absent or 0: none.
   */
  nulPadding?: number;
}

/**
 * Encodes `frame` as the original's bytes: 28-byte big-endian header, imei (UTF-8), body.
 * Header integers are written as int32, so values outside the int32 range wrap; callers pass codes
 * and ids that fit (every protocol number does).
 */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  const imei = utf8Encode(frame.imei);
  const out = new Uint8Array(HEADER_BYTES + imei.length + frame.body.length);
  const view = new DataView(out.buffer);
  view.setInt32(HeaderOffset.COMMAND, frame.command);
  view.setInt32(HeaderOffset.VERSION, frame.version);
  view.setInt32(HeaderOffset.CLIENT_TYPE, frame.clientType);
  view.setInt32(HeaderOffset.MESSAGE_TYPE, frame.messageType);
  view.setInt32(HeaderOffset.APP_ID, frame.appId);
  view.setInt32(HeaderOffset.IMEI_LENGTH, imei.length);
  view.setInt32(HeaderOffset.BODY_LENGTH, frame.body.length);
  out.set(imei, HEADER_BYTES);
  out.set(frame.body, HEADER_BYTES + imei.length);
  return out;
}
