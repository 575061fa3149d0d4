import { Command } from "../gen/ts/whaleshark/v1/command.js";
import type { LoginAckPack, MutaLoginPack, ResponseVo } from "../gen/ts/whaleshark/v1/envelope.js";
import type {
  GroupChatMessageContent,
  MessageAck,
  MessageContent,
  RecallMessageAck,
  RecallMessageNotifyPack,
} from "../gen/ts/whaleshark/v1/message.js";
import { GROUP, P2P } from "../lib/wire/conversation-type.js";
import type { ServerFrame } from "../lib/wire/index.js";
import { backoffDelay } from "./backoff.js";
import { ClientError, type ClientErrorReason } from "./client-error.js";
import { Emitter, type Listener } from "./emitter.js";
import { type ClientEvents, type ClientState, RECEIPT_COMMANDS } from "./events.js";
import { type DeviceHeader, decodePush, encodeRequest } from "./frames.js";
import { Inbox } from "./inbox.js";
import { MessageSync } from "./message-sync.js";
import { type ClientOptions, heartbeatEvery, type ResolvedOptions, resolveOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import { customStatusFault, isPresenceCommand, presenceEvent } from "./presence.js";
import { type RecallInput, Recalls, validateRecall } from "./recall.js";
import type { ClientTransport, TransportKind } from "./transport/transport.js";

/** A P2P message to send (MessageContent fields the client fills, spec §5.3). */
export interface P2PMessageInput {
  toId: string;
  messageBody: string;
  extra?: string;
  /** Idempotency key; a fresh UUID when omitted. Reuse it only to resend the same message. */
  messageId?: string;
  /**
   * The message's time, epoch ms; now when omitted. When an app resends a message itself (same
   * messageId, e.g. from its own outbox after a restart), pass the first attempt's time too: the
   * server recognises a resend by messageId, and after its kv lost its data it asks the database
   * only for sends whose time says they may have been accepted before (README "What an ACK
   * means"). The SDK's own resends reuse the first frame, time included.
   */
  messageTime?: number;
}

/** A group message to send (GroupChatMessageContent fields the client fills, spec §5.4). */
export interface GroupMessageInput {
  groupId: string;
  messageBody: string;
  extra?: string;
  messageId?: string;
  /** As {@link P2PMessageInput.messageTime}. */
  messageTime?: number;
}

interface PendingLogin {
  resolve(ack: LoginAckPack): void;
  reject(error: Error): void;
}

/**
 * A client of the WhaleShark wire protocol (spec §2–§5) for one device of one user.
 * Browser-safe: the transport (sdk/transport) is the only part that differs between Node and
 * browsers. See sdk/README.md for the lifecycle and guarantees.
 */
export class WhaleSharkClient {
  readonly #o: ResolvedOptions;
  readonly #header: DeviceHeader;
  readonly #events: Emitter<ClientEvents>;
  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  /** The conversation of each send waiting for its ACK, by messageId. */
  readonly #sending = new Map<string, string>();
  /** The catch-up (undefined when options.sync is false). */
  readonly #sync: MessageSync | undefined;
  #state: ClientState = "idle";
  #transport: ClientTransport | undefined;
  /** Bumped for every connection and at shutdown, so late callbacks of an old one are ignored. */
  #generation = 0;
  #login: PendingLogin | undefined;
  #loginAck: LoginAckPack | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnectAttempt = 0;
  /** Recalls (1050) waiting for their 1051, by messageKey (sdk/recall.ts). */
  readonly #recalls: Recalls;

  constructor(options: ClientOptions) {
    this.#o = resolveOptions(options);
    this.#header = {
      appId: this.#o.appId,
      clientType: this.#o.clientType,
      imei: this.#o.imei,
      version: this.#o.version,
      encoding: this.#o.encoding,
    };
    this.#events = new Emitter<ClientEvents>((error) => {
      if (!this.#events.emit("error", asError(error))) queueMicrotask(() => Promise.reject(error));
    });
    this.#outbox = new Outbox(
      this.#o.resend,
      (frame) => this.#state === "online" && this.#transport?.send(frame) === true,
      { maxInFlight: this.#o.maxInFlight, random: this.#o.random },
    );
    this.#inbox = new Inbox({
      userId: this.#o.userId,
      dedupeCapacity: this.#o.dedupeCapacity,
      initialCursor: this.#o.initialSyncCursor,
      // A device that catches up from messageKey 0 gets every conversation from its beginning, so
      // it knows each starts at sequence 0. One that resumes from a saved cursor remembers no
      // positions (they are not persisted) and cannot tell a conversation's first message here
      // from a later one: assuming 0 would fetch and show again every earlier message of each
      // conversation, so it takes the first message it sees as its position.
      fromStart: this.#o.sync !== undefined && this.#o.initialSyncCursor === 0,
      isPendingSend: (messageId) => this.#outbox.has(messageId),
      emit: (message) => this.#events.emit("message", message),
      // Without sync nothing can fill a gap: deliver as pushed.
      onGap: (conversation) =>
        this.#sync === undefined ? this.#inbox.skip(conversation) : this.#sync.fill(conversation),
    });
    this.#recalls = new Recalls(this.#o.loginTimeoutMs);
    const policy = this.#o.sync;
    this.#sync =
      policy === undefined
        ? undefined
        : new MessageSync(policy, this.#o.userId, this.#inbox, {
            write: (command, data) => this.#send(command, data),
            synced: (event) => this.#events.emit("synced", event),
            error: (error) => this.#events.emit("error", error),
            random: this.#o.random,
          });
  }

  /** Current lifecycle state. */
  get state(): ClientState {
    return this.#state;
  }

  /** The LOGIN_ACK of the current (or last) login; undefined before the first. */
  get loginAck(): LoginAckPack | undefined {
    return this.#loginAck;
  }

  /**
   * The highest messageKey this client delivered (or sent), or `initialSyncCursor`: where the
   * next catch-up starts. Persist it (or the `synced` event's cursor) to resume after a restart.
   */
  get syncCursor(): number {
    return this.#inbox.cursor;
  }

  /** Messages sent and still waiting for their ACK: in flight, or queued behind `maxInFlight`. */
  get pendingCount(): number {
    return this.#outbox.size;
  }

  /** Of pendingCount, the sends waiting for a slot of the `maxInFlight` window (not written yet). */
  get queuedCount(): number {
    return this.#outbox.queued;
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ClientEvents>(name: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#events.on(name, listener);
  }

  /** Unsubscribes a listener. */
  off<K extends keyof ClientEvents>(name: K, listener: Listener<ClientEvents[K]>): void {
    this.#events.off(name, listener);
  }

  /**
   * Opens a connection and logs in (LOGIN 9000 with userId and userSign). Resolves with LOGIN_ACK
   * 9001; rejects with ClientError `login-refused` (error frame 9006, e.g. code 60003),
   * `login-timeout` or `connection-lost`, or the transport's error. Allowed from idle or closed.
   */
  async connect(): Promise<LoginAckPack> {
    if (this.#state !== "idle" && this.#state !== "closed") {
      throw new Error(`connect() while ${this.#state}`);
    }
    this.#reconnectAttempt = 0;
    this.#setState("connecting");
    try {
      return await this.#open(false);
    } catch (error) {
      this.#shutdown(asError(error), "closed");
      throw error;
    }
  }

  /**
   * Sends a P2P message (1103) and resolves with its ACK 1046 once the server stored it. Resent
   * with the same messageId until the ACK comes (options.resend), also across reconnects.
   * Rejects with ClientError `refused` (the ACK's code: not stored), `unknown` (no answer within
   * resend.maxPendingMs: maybe stored, see sdk/README.md), `closed` or `kicked`.
   */
  sendP2P(input: P2PMessageInput): Promise<MessageAck> {
    const { messageId, ...rest } = input;
    return this.#sendChat(
      Command.COMMAND_MSG_P2P,
      Command.COMMAND_MSG_ACK,
      messageId,
      rest,
      `p2p:${input.toId}`,
    );
  }

  /** Sends a group message (2104); resolves with its ACK 2047. Same contract as sendP2P. */
  sendGroup(input: GroupMessageInput): Promise<MessageAck> {
    const { messageId, ...rest } = input;
    const conversation = `group:${input.groupId}`;
    return this.#sendChat(
      Command.COMMAND_MSG_GROUP,
      Command.COMMAND_GROUP_MSG_ACK,
      messageId,
      rest,
      conversation,
    );
  }

  /**
   * Sends MSG_RECEIVE_ACK 1107 for a received P2P message (done automatically unless
   * autoReceiveAck is false). False when not online (the server then answers for the device).
   */
  sendReceiveAck(message: Pick<MessageContent, "fromId" | "messageKey" | "messageSequence">): boolean {
    return this.#send(Command.COMMAND_MSG_RECEIVE_ACK, {
      fromId: this.#o.userId,
      toId: message.fromId,
      messageKey: message.messageKey,
      messageSequence: message.messageSequence,
    });
  }

  /** Marks a P2P conversation read up to `messageSequence` (1106). False when not online. */
  markRead(input: { toId: string; messageSequence: number }): boolean {
    return this.#send(Command.COMMAND_MSG_READ, { fromId: this.#o.userId, conversationType: P2P, ...input });
  }

  /**
   * Marks a group read up to `messageSequence` (2106); `toId`, when given, is the sender who gets a
   * read receipt (spec §5.7). False when not online.
   */
  markGroupRead(input: { groupId: string; messageSequence: number; toId?: string }): boolean {
    return this.#send(Command.COMMAND_MSG_GROUP_READ, {
      fromId: this.#o.userId,
      conversationType: GROUP,
      ...input,
    });
  }

  /**
   * Recalls a message this user sent (MSG_RECALL 1050), within the app's recall window. Resolves
   * on MSG_RECALL_ACK 1051 with code 200; the conversation's devices (the peer's, the group's,
   * this user's others) get MSG_RECALL_NOTIFY 1052 (the `recall` event). Rejects with ClientError
   * `refused` (50004 past the window, 50005 already recalled, 50001 not the sender, …),
   * `not-connected` (not online: not queued), `request-timeout` (no answer within loginTimeoutMs)
   * or `connection-lost`. A bad input throws a TypeError before anything is sent.
   */
  recall(input: RecallInput): Promise<void> {
    try {
      validateRecall(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#recalls.start(input.messageKey, () =>
      this.#send(Command.COMMAND_MSG_RECALL, { ...input, fromId: this.#o.userId }),
    );
  }

  /**
   * Sets this user's custom status text ("" clears it) with the C→S 4001 frame (sdk/presence.ts).
   * Not answered on success: watchers get 4004 and this user's other devices 4005 after the
   * server's coalescing window; a refused text comes back as a `serverError` naming 4001. Returns
   * whether the frame was written (false when not online). A bad text throws a TypeError.
   */
  setCustomStatus(text: string): boolean {
    const fault = customStatusFault(text);
    if (fault !== undefined) throw new TypeError(fault);
    return this.#send(Command.COMMAND_USER_ONLINE_STATUS_CHANGE, { customStatus: text });
  }

  /** Logs the device out (LOGOUT 9003: the server deletes its session) and closes for good. */
  async logout(): Promise<void> {
    this.#send(Command.COMMAND_LOGOUT, {});
    this.#shutdown(undefined, "closed");
  }

  /** Closes without logging out (the session stays, marked offline) and stops reconnecting. */
  close(): void {
    this.#shutdown(undefined, "closed");
  }

  #sendChat(
    command: number,
    ackCommand: number,
    messageId: string | undefined,
    fields: object,
    conversation: string,
  ) {
    if (this.#state === "idle" || this.#state === "closed") {
      return Promise.reject(new ClientError("not-connected"));
    }
    const { messageTime, ...rest } = fields as { messageTime?: number };
    if (messageTime !== undefined && (!Number.isSafeInteger(messageTime) || messageTime <= 0)) {
      return Promise.reject(new TypeError(`messageTime must be epoch ms above 0, got ${messageTime}`));
    }
    const id = messageId ?? this.#o.newMessageId();
    const data = { ...rest, fromId: this.#o.userId, messageId: id, messageTime: messageTime ?? Date.now() };
    let frame: Uint8Array;
    try {
      frame = encodeRequest(this.#header, command, data);
    } catch (error) {
      return Promise.reject(error);
    }
    const sent = this.#outbox.add(id, ackCommand, frame);
    this.#sending.set(id, conversation);
    const done = () => this.#sending.delete(id);
    sent.then(done, done);
    return sent;
  }

  #send(command: number, data: object): boolean {
    if (this.#state !== "online" || this.#transport === undefined) return false;
    return this.#transport.send(encodeRequest(this.#header, command, data));
  }

  async #open(reconnect: boolean): Promise<LoginAckPack> {
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    let kind: TransportKind = "tcp";
    const transport = await this.#o.transport({
      frame: (frame) => current() && this.#onFrame(kind, frame),
      closed: (error) => current() && this.#onClosed(error),
    });
    kind = transport.kind;
    if (!current()) {
      transport.close();
      throw new ClientError("closed");
    }
    this.#transport = transport;
    try {
      const sign = this.#o.userSign;
      const userSign = typeof sign === "function" ? await sign() : sign;
      if (this.#transport !== transport) throw new ClientError("connection-lost");
      const loginAck = await new Promise<LoginAckPack>((resolve, reject) => {
        const timer = setTimeout(
          () => this.#login?.reject(new ClientError("login-timeout")),
          this.#o.loginTimeoutMs,
        );
        const settle = () => {
          clearTimeout(timer);
          this.#login = undefined;
        };
        this.#login = {
          resolve: (ack) => {
            settle();
            resolve(ack);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
        };
        transport.send(
          encodeRequest(this.#header, Command.COMMAND_LOGIN, { userId: this.#o.userId, userSign }),
        );
      });
      this.#online(loginAck, reconnect);
      if (reconnect) await this.#afterReconnect(loginAck);
      return loginAck;
    } catch (error) {
      if (current()) {
        this.#transport = undefined;
        transport.close();
      }
      throw error;
    }
  }

  #online(loginAck: LoginAckPack, reconnect: boolean): void {
    this.#loginAck = loginAck;
    this.#reconnectAttempt = 0;
    this.#setState("online");
    const every = heartbeatEvery(this.#o, loginAck);
    this.#heartbeat = setInterval(
      () => this.#send(Command.COMMAND_PING, { timestamp: Date.now(), type: "ping" }),
      every,
    );
    // Pending sends go out again with their original messageIds (spec §5.5 retry model).
    this.#outbox.flush();
    this.#events.emit("connected", { loginAck, reconnected: reconnect });
    // Catch up with what was missed while offline (docs/architecture.md §4 "Sync"), unless a listener
    // closed us.
    if (this.#state === "online") this.#sync?.start();
  }

  async #afterReconnect(loginAck: LoginAckPack): Promise<void> {
    try {
      await this.#o.onReconnected?.();
    } catch (error) {
      this.#events.emit("error", asError(error));
    }
    if (this.#state === "online") this.#events.emit("reconnected", { loginAck });
  }

  #onClosed(error: Error | undefined): void {
    this.#transport = undefined;
    clearInterval(this.#heartbeat);
    this.#outbox.pause();
    this.#sync?.stop();
    this.#recalls.failAll(new ClientError("connection-lost"));
    this.#login?.reject(error ?? new ClientError("connection-lost"));
    if (this.#state !== "online") return; // a failed (re)connect attempt: its caller decides
    if (this.#o.reconnect === undefined) {
      this.#shutdown(error, "connection-lost");
      return;
    }
    this.#events.emit("close", { error, willReconnect: true });
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const policy = this.#o.reconnect;
    if (policy === undefined || this.#reconnectAttempt >= policy.maxAttempts) {
      this.#shutdown(undefined, "closed");
      return;
    }
    this.#setState("reconnecting");
    const delay = backoffDelay(policy, this.#reconnectAttempt++, this.#o.random);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#open(true).catch((error: unknown) => {
        if (this.#state !== "reconnecting") return; // closed meanwhile
        // A refused login will be refused again: stop instead of hammering the gateway.
        if (error instanceof ClientError && error.reason === "login-refused") this.#shutdown(error, "closed");
        else this.#scheduleReconnect();
      });
    }, delay);
  }

  #onFrame(kind: TransportKind, frame: ServerFrame): void {
    let data: unknown;
    try {
      data = decodePush(frame, kind, this.#o.encoding).data;
    } catch (error) {
      this.#events.emit("error", asError(error));
      return;
    }
    const command = frame.command;
    switch (command) {
      case Command.COMMAND_LOGIN_ACK:
        this.#login?.resolve(data as LoginAckPack);
        return;
      case Command.COMMAND_ERROR:
        this.#onServerError(data as ResponseVo);
        return;
      case Command.COMMAND_MUTALOGIN:
        this.#events.emit("kicked", { data: data as MutaLoginPack });
        this.#shutdown(undefined, "kicked");
        return;
      case Command.COMMAND_MSG_ACK:
      case Command.COMMAND_GROUP_MSG_ACK:
        this.#onAck(command, data as MessageAck);
        return;
      case Command.COMMAND_MSG_P2P:
      case Command.COMMAND_MSG_GROUP:
        this.#onMessage(command, data as MessageContent | GroupChatMessageContent);
        return;
      case Command.COMMAND_MSG_RECALL_ACK:
        // Settles a recall() waiting for it; still a `notification` too, as before recall() existed
        // (an app that writes 1050 frames itself reads its 1051 there).
        this.#recalls.onAck(data as RecallMessageAck);
        this.#events.emit("notification", { command, data });
        return;
      case Command.COMMAND_SYNC_MESSAGES_ACK:
      case Command.COMMAND_SYNC_CONVERSATION_ACK:
        this.#sync?.onAnswer(command, data);
        return;
      default:
        if (RECEIPT_COMMANDS.has(command)) {
          const receipt = { command, data } as ClientEvents["receipt"];
          this.#events.emit("receipt", receipt);
        } else {
          if (command === Command.COMMAND_MSG_RECALL_NOTIFY) {
            this.#events.emit("recall", data as RecallMessageNotifyPack);
          }
          if (isPresenceCommand(command)) this.#events.emit("presence", presenceEvent(command, data));
          this.#events.emit("notification", { command, data });
        }
    }
  }

  #onAck(command: 1046 | 2047, ack: MessageAck): void {
    const conversation = this.#sending.get(ack.data?.messageId ?? "");
    if (this.#outbox.ack(command, ack) && ack.ok && conversation !== undefined) {
      // At once, before the next frame: an ACKed send takes its place in its conversation (its
      // sequence is no gap, its messageKey no new message when a catch-up returns it).
      this.#inbox.own(conversation, ack.data?.messageSequence ?? 0, ack.data?.messageKey ?? 0);
    }
    this.#events.emit("ack", { command, ack });
  }

  #onServerError(vo: ResponseVo): void {
    const server = { code: vo.code, msg: vo.msg };
    if (this.#login !== undefined) {
      this.#login.reject(new ClientError("login-refused", server));
    } else if (this.#sync?.onError(vo) === true) {
      // A refused catch-up: the sync retries it.
    } else {
      const messageId = (vo.data as { messageId?: unknown } | undefined)?.messageId;
      if (typeof messageId === "string") this.#outbox.refuse(messageId, new ClientError("refused", server));
    }
    this.#events.emit("serverError", vo);
  }

  #onMessage(command: 1103 | 2104, message: MessageContent | GroupChatMessageContent): void {
    const fromSelf = message.fromId === this.#o.userId;
    if (command === Command.COMMAND_MSG_P2P && !fromSelf && this.#o.autoReceiveAck) {
      // Acked again for a redelivery too: the first 1107 may be what got lost.
      this.sendReceiveAck(message);
    }
    const origin = { fromSelf, synced: false, recalled: false, late: false };
    if (command === Command.COMMAND_MSG_P2P) {
      this.#inbox.push({ kind: "p2p", command, message: message as MessageContent, ...origin });
    } else {
      this.#inbox.push({ kind: "group", command, message: message as GroupChatMessageContent, ...origin });
    }
  }

  #shutdown(error: Error | undefined, reason: ClientErrorReason): void {
    if (this.#state === "closed") return;
    this.#generation++;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#heartbeat);
    this.#login?.reject(new ClientError(reason));
    this.#transport?.close();
    this.#transport = undefined;
    this.#setState("closed");
    // What was received is delivered, also what still waited for a catch-up or a gap.
    if (this.#sync === undefined) this.#inbox.flush();
    else this.#sync.close();
    this.#outbox.failAll(new ClientError(reason));
    this.#recalls.failAll(new ClientError(reason));
    this.#events.emit("close", { error, willReconnect: false });
  }

  #setState(state: ClientState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#events.emit("state", state);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
