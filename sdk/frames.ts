import {
  BodyError,
  type ClientFrame,
  encodeClientFrame,
  encodeData,
  IGNORED_BODY_COMMANDS,
  MessageEncoding,
  parseJsonObject,
  payloadTypeOf,
  type ServerFrame,
} from "../lib/wire/index.js";
import type { TransportKind } from "./transport/transport.js";

/** The header fields a client repeats in every frame (spec §2.1). */
export interface DeviceHeader {
  appId: number;
  clientType: number;
  imei: string;
  /** SDK/protocol version in the header; the server ignores it. */
  version: number;
  /** Body encoding of every frame this client sends, and of the answers it gets. */
  encoding: MessageEncoding;
}

/** A server frame's data, decoded. */
export interface Push {
  command: number;
  /**
   * The payload as its generated message type (gen/ts/whaleshark/v1, every field present) when the
   * command has one, otherwise the raw JSON object.
   */
  data: unknown;
}

/**
 * Encodes a C→S frame with `data` (a JSON object with the original's keys) as its body, in the
 * device's encoding. Commands whose body the server ignores (LOGOUT) get an empty body.
 */
export function encodeRequest(header: DeviceHeader, command: number, data: object): Uint8Array {
  const frame: ClientFrame = {
    command,
    version: header.version,
    clientType: header.clientType,
    messageType: header.encoding,
    appId: header.appId,
    imei: header.imei,
    body: IGNORED_BODY_COMMANDS.has(command) ? new Uint8Array(0) : encodeData(command, header.encoding, data),
  };
  return encodeClientFrame(frame);
}

/**
 * Decodes a server frame's payload. JSON over TCP is `data` only (spec §2.2; `null` gives `{}`);
 * JSON over WebSocket is the whole MessagePack (spec §2.3), whose `data` is taken, or the pack
 * itself when it has none (MUTALOGIN). Protobuf is the payload message on both transports.
 * Throws BodyError when the payload cannot be read.
 */
export function decodePush(frame: ServerFrame, kind: TransportKind, encoding: MessageEncoding): Push {
  const codec = payloadTypeOf(frame.command);
  if (encoding === MessageEncoding.PROTOBUF) {
    if (codec === undefined) {
      if (frame.payload.length === 0) return { command: frame.command, data: {} };
      throw new BodyError("unknown-command", `command ${frame.command}`);
    }
    try {
      return { command: frame.command, data: codec.decode(frame.payload) };
    } catch (error) {
      throw new BodyError("invalid-protobuf", error instanceof Error ? error.message : String(error));
    }
  }
  let json = parseJsonObject(frame.payload);
  if (kind === "ws") {
    const inner = json.data;
    if (typeof inner === "object" && inner !== null && !Array.isArray(inner)) json = inner as typeof json;
  }
  return { command: frame.command, data: codec === undefined ? json : codec.fromJSON(json) };
}
