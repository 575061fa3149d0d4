/**
 * Public surface of the wire codec (spec §2): frame layouts, the streaming decoders, the body
 * encodings and the server push encoders. Pure and browser-safe (Uint8Array, DataView,
 * TextEncoder/TextDecoder only), so the gateway and the sdk share it.
 */
export { BodyError, type BodyErrorReason, BodyErrorReasons, isBodyError } from "./body-error.js";
export { type ClientFrame, encodeClientFrame } from "./client-frame.js";
export {
  ClientFrameDecoder,
  type ClientFrameDecoderOptions,
  decodeClientFrame,
} from "./client-frame-decoder.js";
export {
  DEFAULT_MAX_FRAME_BYTES,
  HEADER_BYTES,
  HeaderOffset,
  isMessageEncoding,
  MAX_IMEI_BYTES,
  MessageEncoding,
  SERVER_HEADER_BYTES,
  ServerHeaderOffset,
} from "./constants.js";
export { FrameError, type FrameErrorReason, FrameErrorReasons, isFrameError } from "./frame-error.js";
export {
  decodeBody,
  encodeData,
  encodeProtobufPush,
  IGNORED_BODY_COMMANDS,
  type JsonObject,
  jsonDataToProtobuf,
  PAYLOAD_TYPES,
  type PayloadCodec,
  parseJsonObject,
  payloadTypeOf,
} from "./payloads.js";
export {
  encodeTcpPush,
  encodeTcpPushText,
  encodeWsPush,
  encodeWsPushWith,
  NULL_JSON,
  type WsPackFields,
  type WsPackTemplate,
  wsPackTemplate,
} from "./push.js";
export {
  decodeServerFrame,
  encodeServerFrame,
  encodeServerFrameText,
  type ServerFrame,
  ServerFrameDecoder,
} from "./server-frame.js";
