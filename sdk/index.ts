/**
 * Public surface of the WhaleShark client SDK. Browser-safe: the only Node-specific module is
 * `sdk/transport/tcp.js`, imported separately (`import { tcpTransport } from ".../sdk/transport/tcp.js"`)
 * so that bundles for browsers never pull in `node:net`.
 */

export { MessageEncoding } from "../lib/wire/constants.js";
export { type BackoffPolicy, backoffDelay } from "./backoff.js";
export { type GroupMessageInput, type P2PMessageInput, WhaleSharkClient } from "./client.js";
export { ClientError, type ClientErrorReason, ClientErrorReasons } from "./client-error.js";
export { type ConversationEntry, ConversationList } from "./conversations.js";
export type { ChatMessage, ClientEvents, ClientState, MessageOrigin, Receipt } from "./events.js";
export { applyJoinGroup, decideJoinRequest, getJoinRequests, type JoinRequest } from "./groups.js";
export { ApiError, HttpApi, type HttpApiOptions } from "./http-api.js";
export { LruSet } from "./lru-set.js";
export { SYNC_DEFAULTS, type SyncPolicy } from "./message-sync.js";
export {
  type ClientOptions,
  MAX_IN_FLIGHT_DEFAULT,
  RECONNECT_DEFAULTS,
  RESEND_DEFAULTS,
  type ReconnectPolicy,
  type UserSignSource,
} from "./options.js";
export type { ResendPolicy } from "./outbox.js";
export {
  type ApiCaller,
  CUSTOM_STATUS_MAX_CHARS,
  customStatusFault,
  MAX_PRESENCE_USERS,
  PresenceApi,
  type PresenceDevice,
  type PresenceEvent,
  PresenceStatus,
  type UserPresence,
} from "./presence.js";
export type { RecallInput } from "./recall.js";
export type {
  ClientTransport,
  TransportFactory,
  TransportKind,
  TransportSink,
} from "./transport/transport.js";
export {
  type WebSocketConstructor,
  type WebSocketLike,
  type WsTransportOptions,
  wsTransport,
} from "./transport/ws.js";
