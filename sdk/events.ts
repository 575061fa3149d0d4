import type { LoginAckPack, MutaLoginPack, ResponseVo } from "../gen/ts/whaleshark/v1/envelope.js";
import type {
  GroupChatMessageContent,
  MessageAck,
  MessageContent,
  MessageReadPack,
  MessageReceiveAckContent,
  RecallMessageNotifyPack,
} from "../gen/ts/whaleshark/v1/message.js";
import type { PresenceEvent } from "./presence.js";

/** Commands delivered as `receipt` events (spec §3.2, §3.3, §5.7). */
export const RECEIPT_COMMANDS: ReadonlySet<number> = new Set([1107, 1053, 1054, 2053, 2054]);

/** Lifecycle of a client: idle → connecting → online ⇄ reconnecting → closed. */
export type ClientState = "idle" | "connecting" | "online" | "reconnecting" | "closed";

/** Where a chat message came from and what became of it. */
export interface MessageOrigin {
  /** Sent by this user (a sync copy of another device's send, or a synced message of this user). */
  fromSelf: boolean;
  /** Fetched by the catch-up sync (9007 / 9009) rather than pushed live. */
  synced: boolean;
  /** Recalled before this device got it: the body is empty (only synced messages can say so). */
  recalled: boolean;
  /**
   * Its conversation was already delivered past its messageSequence: the client stopped waiting
   * for it (a gap it could not fill in time, e.g. a message whose sending domain died between
   * sequencing and publishing and that a retry published seconds later). Show it in its place by
   * messageSequence, not as the newest message. Never true for a message that came in order.
   */
  late: boolean;
}

/**
 * A chat message received, once (redeliveries with a known messageKey are dropped) and in
 * messageSequence order within its conversation (one that can no longer come in order is flagged
 * `late`). Synced messages carry what was stored: the
 * sending device's clientType and imei are not kept (0 and "").
 */
export type ChatMessage =
  | ({ kind: "p2p"; command: 1103; message: MessageContent } & MessageOrigin)
  | ({ kind: "group"; command: 2104; message: GroupChatMessageContent } & MessageOrigin);

/** A delivery or read receipt. */
export type Receipt =
  /** 1107: the receiver's device got the message (serverSend: the server answered for it). */
  | { command: 1107; data: MessageReceiveAckContent }
  /** 1053 / 2053: this user read on another device; 1054 / 2054: the peer read. */
  | { command: 1053 | 1054 | 2053 | 2054; data: MessageReadPack };

/** Every event of WhaleSharkClient and its payload. */
export interface ClientEvents {
  /** Logged in (first connect or reconnect), with the server's LOGIN_ACK. */
  connected: { loginAck: LoginAckPack; reconnected: boolean };
  /** A re-login succeeded and the onReconnected hook has run. */
  reconnected: { loginAck: LoginAckPack };
  /** A P2P (1103) or group (2104) message, including sync copies of this user's other devices. */
  message: ChatMessage;
  /**
   * A catch-up finished (after every login, and again shortly after): everything stored up to
   * `cursor` has been delivered. `cursor` is the value to persist and pass back as
   * `initialSyncCursor` when the application restarts; `messages` counts what this catch-up
   * delivered.
   */
  synced: { cursor: number; messages: number };
  /** Every uplink ACK (1046 / 2047), also late ones whose send already settled. */
  ack: { command: 1046 | 2047; ack: MessageAck };
  receipt: Receipt;
  /** MUTALOGIN 9002: logged in elsewhere; the client closes and does not reconnect. */
  kicked: { data: MutaLoginPack };
  /** COMMAND_ERROR 9006: the gateway refused a frame (code, msg, data.command, data.messageId). */
  serverError: ResponseVo;
  /** MSG_RECALL_NOTIFY 1052: a message was recalled (also emitted as a `notification`). */
  recall: RecallMessageNotifyPack;
  /** 4004 / 4005 online-status changes (sdk/presence.ts; also emitted as a `notification`). */
  presence: PresenceEvent;
  /** Any other server push (group, friendship, user, conversation events, recall notices). */
  notification: { command: number; data: unknown };
  /** The connection ended; `willReconnect` tells whether the client is trying again. */
  close: { error: Error | undefined; willReconnect: boolean };
  /** A problem that did not stop the client: an unreadable push, a failing hook or listener. */
  error: Error;
  state: ClientState;
}
