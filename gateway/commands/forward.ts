import type { Logger } from "pino";
import type { ChatServiceSendResult, SessionContext } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import {
  GroupChatMessageContent,
  MessageAck,
  MessageContent,
  MessageReadContent,
  MessageReceiveAckContent,
  RecallMessageAck,
  RecallMessageContent,
} from "../../gen/ts/whaleshark/v1/message.js";
import { ErrorCatalogue } from "../../lib/errors/index.js";
import { toServiceError } from "../../lib/grpc/errors.js";
import { RefusalLog } from "../../lib/net/connection-limiter.js";
import { checkReceiveAck, relayReceiveAck } from "../../lib/push/receive-ack.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import { rememberTrace, traceGatewaySend, tracingOn } from "../../lib/tracing/index.js";
import { type ChatConversationType, GROUP, P2P } from "../../lib/wire/conversation-type.js";
import type { JsonObject } from "../../lib/wire/index.js";
import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";
import { type ErrorInfo, errorInfo, errorInfoOfCall, errorInfoOfCode, sendError } from "./error-frame.js";
import { refusedForRate } from "./send-rate.js";

/** The login's device fields, written over the body's before a chat call (D26). */
type Device = { appId: number; clientType: number; imei: string; fromId: string };

/**
 * How the gateway relays one C→S chat command to the domain's ChatService (spec §3.7,
 * chat_service.proto): the RPC method (metrics and logs), how the body becomes the call's content
 * (the payload type, with the login's device fields), and what the call is — a `send` goes through
 * the gateway's send batches and is answered with `ack`; any other names its ChatService call.
 * A forwarded command is one row here (plus its rule in the domain); docs/architecture.md §8.
 */
interface ForwardRule {
  method: string;
  content(body: JsonObject, device: Device): object;
  /** Sends (1103, 2104): batched, joined when resent, rate-limited and shed (send-rate.ts). */
  send?: true;
  /** The call of a non-send command; resolves with the answer's `data`, if it has one. */
  call?(ctx: GatewayContext, session: SessionContext, content: object): Promise<unknown>;
  /** The command that answers it, success or failure; without one only a failure is answered (9006). */
  ack?: {
    command: Command;
    frame(head: AckHead, data: unknown, content: object, messageId?: string): object;
  };
}

type AckHead = { code: number; msg: string; ok: boolean };

const messageAck = (head: AckHead, data: unknown, messageId: string | undefined): object =>
  MessageAck.toJSON(
    MessageAck.fromPartial({
      ...head,
      data: (head.ok && data !== undefined ? data : { messageId: messageId ?? "" }) as MessageAck["data"],
    }),
  ) as object;

const markRead = (conversationType: ChatConversationType): ForwardRule => ({
  method: "MarkRead",
  content: (body, device) => ({ ...MessageReadContent.fromJSON(body), ...device, conversationType }),
  call: async (ctx, session, content) => {
    await ctx.chat.markRead({ session, content: content as MessageReadContent });
    return undefined;
  },
});

/** Every forwarded command, by code. */
const FORWARDED: ReadonlyMap<number, ForwardRule> = new Map<number, ForwardRule>([
  [
    Command.COMMAND_MSG_P2P,
    {
      method: "SendP2PMessage",
      content: (body, device) => ({ ...MessageContent.fromJSON(body), ...device }),
      send: true,
      ack: {
        command: Command.COMMAND_MSG_ACK,
        frame: (head, data, _content, messageId) => messageAck(head, data, messageId),
      },
    },
  ],
  [
    Command.COMMAND_MSG_GROUP,
    {
      method: "SendGroupMessage",
      content: (body, device) => ({ ...GroupChatMessageContent.fromJSON(body), ...device }),
      send: true,
      ack: {
        command: Command.COMMAND_GROUP_MSG_ACK,
        frame: (head, data, _content, messageId) => messageAck(head, data, messageId),
      },
    },
  ],
  [
    Command.COMMAND_MSG_RECEIVE_ACK,
    {
      method: "ReceiveAck",
      content: (body, device) => ({ ...MessageReceiveAckContent.fromJSON(body), ...device }),
      call: receiveAck,
    },
  ],
  [Command.COMMAND_MSG_READ, markRead(P2P)],
  [Command.COMMAND_MSG_GROUP_READ, markRead(GROUP)],
  [
    Command.COMMAND_MSG_RECALL,
    {
      method: "RecallMessage",
      content: (body, device) => ({ ...RecallMessageContent.fromJSON(body), ...device }),
      call: async (ctx, session, content) =>
        (await ctx.chat.recallMessage({ session, content: content as RecallMessageContent })).data,
      ack: {
        command: Command.COMMAND_MSG_RECALL_ACK,
        frame: (head, data, content) =>
          RecallMessageAck.toJSON(
            RecallMessageAck.fromPartial({
              ...head,
              data: (head.ok && data !== undefined
                ? data
                : { messageKey: (content as RecallMessageContent).messageKey }) as RecallMessageAck["data"],
            }),
          ) as object,
      },
    },
  ],
]);

/** C→S commands the gateway relays to the domain's ChatService. */
export const FORWARDED_COMMANDS: ReadonlySet<number> = new Set(FORWARDED.keys());

const SUCCESS = ErrorCatalogue.SUCCESS;

/** The trusted caller of a chat call: always the connection's login, never the body (D26). */
function sessionContext(s: SessionRecord): SessionContext {
  return {
    appId: s.appId,
    userId: s.userId,
    clientType: s.clientType,
    imei: s.imei,
    gatewayNodeId: s.nodeId,
    connectionId: s.connectionId,
  };
}

/** Numbers that cannot be encoded as the payload's integer fields (NaN from "abc", 1.5, 2^60). */
function hasBadNumber(content: object): boolean {
  return Object.values(content).some((v) => typeof v === "number" && !Number.isSafeInteger(v));
}

/** The body's `fromId` when it names somebody other than the logged-in user. */
function foreignFromId(body: JsonObject, userId: string): boolean {
  const from = body.fromId;
  return from !== undefined && from !== null && from !== "" && String(from) !== userId;
}

/**
 * Relays one chat frame to the domain (docs/architecture.md §2 steps 1–4) and answers it:
 * - 1103 → 1046 MSG_ACK; 2104 → 2047 GROUP_MSG_ACK, both through the gateway's send batches
 *   (send-batcher.ts: ChatService.SendMessages, a connection's conversation in frame order);
 *   1050 → RecallMessage → 1051 MSG_RECALL_ACK. The ACK is `{code:200, data, msg:"success",
 *   ok:true}` or, on any failure, `{code, data:{messageId}, msg, ok:false}` (spec §5.5).
 * - 1107 → ReceiveAck; 1106 / 2106 → MarkRead (conversationType 0 / 1 from the command). No
 *   answer on success; a failure answers 9006 with the code.
 * Before calling, `fromId`, `appId`, `clientType` and `imei` are overwritten from the login; a
 * body `fromId` naming someone else is refused with 9006 / 60005 (fixes D26). A send over the
 * connection's or the user's rate, or while the gateway sheds load (send-load.ts), is answered
 * at once with 60006 and `data.retryAfterMs` (send-rate.ts), before anything else is done with
 * it; a resend of a send in flight or accepted here already is answered with its first answer
 * (send-batcher.ts `known`). A domain that is
 * down, slow (past `gateway.forwardTimeoutMs`) or failing yields the error ACK; the connection is
 * never closed for it (fixes D22).
 */
export async function handleForward(
  ctx: GatewayContext,
  conn: Connection,
  command: number,
  body: JsonObject,
): Promise<void> {
  const s = conn.session as SessionRecord;
  const messageId = typeof body.messageId === "string" ? body.messageId : undefined;
  if (foreignFromId(body, s.userId)) {
    ctx.metrics.error("from-mismatch");
    sendError(
      conn,
      errorInfo("USERSIGN_OPERATE_NOT_MATE", "fromId is not the logged-in user"),
      command,
      messageId,
    );
    return;
  }
  const rule = FORWARDED.get(command);
  if (rule === undefined) return; // dispatch.ts sends only FORWARDED_COMMANDS here
  const send = rule.send === true;
  const startedAt = performance.now();
  // A resend of a send this gateway works on or accepted already joins it or gets its answer: it
  // takes no token, is never shed, and costs the domain nothing (no second push either).
  const key = send ? sendKey(s, command, body) : undefined;
  const known = key === undefined ? undefined : ctx.sends.known(key);
  // Over the rate, or the gateway is overloaded (send-load.ts): answered 60006 + retryAfterMs.
  if (send && known === undefined && refusedForRate(ctx, conn, command, messageId)) return;
  const session = sessionContext(s);
  const device = { appId: s.appId, clientType: s.clientType, imei: s.imei, fromId: s.userId };
  const method = rule.method;
  const content = rule.content(body, device);
  if (hasBadNumber(content)) {
    ctx.metrics.error("body-bad-field");
    sendError(conn, errorInfo("PARAMETER_ERROR", "a numeric field is not an integer"), command, messageId);
    return;
  }

  let failure: ErrorInfo | undefined;
  let data: unknown;
  try {
    if (send) {
      const submit = () => known ?? submitSend(ctx, conn, command, session, content, key);
      // With tracing on, the send is the root span of its message's trace (docs/tracing.md).
      const result = await (tracingOn()
        ? traceGatewaySend(command, s.appId, known !== undefined, submit)
        : submit());
      if (result.code !== 0) throw new ItemRefused(result);
      data = result.data;
    } else {
      data = await rule.call?.(ctx, session, content);
    }
    ctx.metrics.forwards.inc({ method, outcome: "ok" });
  } catch (error) {
    failure = error instanceof ItemRefused ? error.info : errorInfoOfCall(error);
    ctx.metrics.forwards.inc({ method, outcome: String(failure.code) });
    ctx.metrics.error("forward-failed");
    if (SERVER_SIDE_CODES.has(failure.code))
      ctx.forwardFailures.refused(conn.transport.remote, String(failure.code));
    conn.log.debug({ err: error, command, code: failure.code }, "forwarded call failed");
  }
  if (send) {
    const outcome = failure === undefined ? "ok" : "failed";
    ctx.metrics.sendAck.observe({ method, outcome }, (performance.now() - startedAt) / 1000);
  }
  answer(conn, rule, command, data, failure, messageId, content);
}

/** Failures of the servers, not of the request: 71000 (no domain reachable, past the deadline), 90000. */
const SERVER_SIDE_CODES: ReadonlySet<number> = new Set([
  ErrorCatalogue.SERVER_NOT_AVAILABLE.code,
  ErrorCatalogue.SYSTEM_ERROR.code,
]);

/**
 * The gateway's log of forwarded calls that failed on the server side (issue 15 item 5): a
 * warning at most every 10 s with how many failed since the last one, so an outage shows in the
 * log at warning level without one line per refused send. The metrics count every one by code
 * (`forwards_total{outcome}`).
 */
export function forwardFailureLog(logger: Logger): RefusalLog {
  return new RefusalLog(logger, "forward", Date.now, "forwarded calls failing on the server side");
}

/** One item of a batch the domain refused: its code and text, as a failed single call carries them. */
class ItemRefused extends Error {
  readonly info: ErrorInfo;

  constructor(result: ChatServiceSendResult) {
    super(result.msg);
    this.info = errorInfoOfCode(result.code, result.msg);
  }
}

/**
 * Queues a send in the gateway's batches. The order key is the connection's conversation: its
 * sends keep the frames' order, other conversations and connections do not wait for it. While it
 * waits for the domain it counts in the gateway's load (send-load.ts).
 */
async function submitSend(
  ctx: GatewayContext,
  conn: Connection,
  command: number,
  session: SessionContext,
  content: object,
  key: string | undefined,
): Promise<ChatServiceSendResult> {
  const load = ctx.sendLoad;
  const token = load.begin(conn);
  let answered = false;
  try {
    let result: ChatServiceSendResult;
    if (command === Command.COMMAND_MSG_P2P) {
      const p2p = content as MessageContent;
      const item = { session, p2p };
      if (tracingOn()) rememberTrace(item); // the batch's call carries it (chat-client.ts)
      result = await ctx.sends.submit(`${conn.id}\u0000p\u0000${p2p.toId}`, item, key);
    } else {
      const group = content as GroupChatMessageContent;
      const item = { session, group };
      if (tracingOn()) rememberTrace(item);
      result = await ctx.sends.submit(`${conn.id}\u0000g\u0000${group.groupId}`, item, key);
    }
    answered = true;
    return result;
  } finally {
    load.end(token, answered);
  }
}

/**
 * Names a send for joining resends: its user, messageId and conversation, as the domain dedupes
 * (a resend after a reconnect to this gateway comes on another connection); none without a
 * messageId (the domain refuses it). A messageId reused for another conversation is another key:
 * the domain refuses it.
 */
function sendKey(s: SessionRecord, command: number, body: JsonObject): string | undefined {
  const id = text(body.messageId);
  if (id === "") return undefined;
  const target =
    command === Command.COMMAND_MSG_P2P ? `p\u0000${text(body.toId)}` : `g\u0000${text(body.groupId)}`;
  return `${s.appId}\u0000${s.userId}\u0000${id}\u0000${target}`;
}

/** A body field as the payload's string field reads it (MessageContent.fromJSON). */
function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

/**
 * 1107: checked and relayed here when kv can answer (lib/push/receive-ack.ts ReceiveAckGate: one
 * MGET, no gRPC round trip per delivered message); otherwise ChatService.ReceiveAck checks it
 * against the database. Either way a receipt for a message the sender did not send this user, or
 * across a block, is dropped without an answer (the domain's receipts.ts says why); only a
 * malformed one (no to_id) is answered, 9006 / 90001.
 */
async function receiveAck(ctx: GatewayContext, session: SessionContext, content: object): Promise<undefined> {
  const c = content as MessageReceiveAckContent;
  const ack = {
    appId: session.appId,
    receiverId: session.userId,
    device: { clientType: session.clientType, imei: session.imei },
    toId: c.toId,
    messageKey: c.messageKey,
    messageSequence: c.messageSequence,
  };
  try {
    checkReceiveAck(ack);
    const decision = await ctx.receipts.decide(ack);
    if (decision === "relay") await relayReceiveAck(ctx.pusher, ack);
    if (decision !== "ask-domain") return undefined;
  } catch (error) {
    throw toServiceError(error); // answered like a refusal from the domain
  }
  await ctx.chat.receiveAck({ session, content: c });
  return undefined;
}

/** Writes the command's answer: its ACK (success or error), or 9006 for a failed call without ACK. */
function answer(
  conn: Connection,
  rule: ForwardRule,
  command: number,
  data: unknown,
  failure: ErrorInfo | undefined,
  messageId: string | undefined,
  content: object,
): void {
  if (rule.ack === undefined) {
    if (failure !== undefined) sendError(conn, failure, command, messageId);
    return;
  }
  const head: AckHead =
    failure === undefined
      ? { code: SUCCESS.code, msg: SUCCESS.message, ok: true }
      : { code: failure.code, msg: failure.msg, ok: false };
  conn.sendData(rule.ack.command, rule.ack.frame(head, data, content, messageId));
}
