import {
  type ChatServiceMarkReadRequest,
  type ChatServiceMarkReadResponse,
  type ChatServiceRecallMessageRequest,
  type ChatServiceRecallMessageResponse,
  type ChatServiceReceiveAckRequest,
  type ChatServiceReceiveAckResponse,
  type ChatServiceSendGroupMessageRequest,
  type ChatServiceSendGroupMessageResponse,
  type ChatServiceSendMessagesRequest,
  type ChatServiceSendMessagesResponse,
  type ChatServiceSendP2PMessageRequest,
  type ChatServiceSendP2PMessageResponse,
  ChatServiceService,
  type ChatServiceSessionClosedRequest,
  type ChatServiceSessionClosedResponse,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import type { InProcessServices } from "../../lib/grpc/in-process.js";
import { batchTraceHeaders, rememberedTrace, tracingOn } from "../../lib/tracing/index.js";
import { InternalGrpcClient } from "./internal-grpc.js";

/**
 * The ChatService calls the gateway makes (chat_service.proto), as promises with a deadline.
 * An interface so tests can count calls; {@link GrpcChatCalls} is the real one.
 */
export interface ChatCalls {
  sendP2PMessage(req: ChatServiceSendP2PMessageRequest): Promise<ChatServiceSendP2PMessageResponse>;
  sendGroupMessage(req: ChatServiceSendGroupMessageRequest): Promise<ChatServiceSendGroupMessageResponse>;
  sendMessages(req: ChatServiceSendMessagesRequest): Promise<ChatServiceSendMessagesResponse>;
  receiveAck(req: ChatServiceReceiveAckRequest): Promise<ChatServiceReceiveAckResponse>;
  markRead(req: ChatServiceMarkReadRequest): Promise<ChatServiceMarkReadResponse>;
  recallMessage(req: ChatServiceRecallMessageRequest): Promise<ChatServiceRecallMessageResponse>;
  sessionClosed(req: ChatServiceSessionClosedRequest): Promise<ChatServiceSessionClosedResponse>;
  close(): void;
}

/**
 * ChatService over gRPC to `address` (`discovery.domain`), through InternalGrpcClient (internal
 * secret, `gateway.forwardTimeoutMs` deadline, lazy reconnecting channel). The calls run off the
 * socket path (async), so a slow or dead domain costs the caller one error ACK, never the
 * connection (fixes D22); a call while the domain is down fails fast with UNAVAILABLE.
 */
export class GrpcChatCalls implements ChatCalls {
  readonly #grpc: InternalGrpcClient;

  constructor(address: string, internalSecret: string, timeoutMs: number, inProcess?: InProcessServices) {
    this.#grpc = new InternalGrpcClient(address, internalSecret, timeoutMs, inProcess);
  }

  sendP2PMessage(req: ChatServiceSendP2PMessageRequest): Promise<ChatServiceSendP2PMessageResponse> {
    return this.#grpc.call(ChatServiceService.sendP2PMessage, req);
  }

  sendGroupMessage(req: ChatServiceSendGroupMessageRequest): Promise<ChatServiceSendGroupMessageResponse> {
    return this.#grpc.call(ChatServiceService.sendGroupMessage, req);
  }

  sendMessages(req: ChatServiceSendMessagesRequest): Promise<ChatServiceSendMessagesResponse> {
    // Each item carries the trace of its own send (forward.ts), not of whichever send began the
    // batch: per-item `traceparents` (docs/tracing.md).
    const trace = tracingOn() ? batchTraceHeaders(req.items.map(rememberedTrace)) : undefined;
    return this.#grpc.call(ChatServiceService.sendMessages, req, trace);
  }

  receiveAck(req: ChatServiceReceiveAckRequest): Promise<ChatServiceReceiveAckResponse> {
    return this.#grpc.call(ChatServiceService.receiveAck, req);
  }

  markRead(req: ChatServiceMarkReadRequest): Promise<ChatServiceMarkReadResponse> {
    return this.#grpc.call(ChatServiceService.markRead, req);
  }

  recallMessage(req: ChatServiceRecallMessageRequest): Promise<ChatServiceRecallMessageResponse> {
    return this.#grpc.call(ChatServiceService.recallMessage, req);
  }

  sessionClosed(req: ChatServiceSessionClosedRequest): Promise<ChatServiceSessionClosedResponse> {
    return this.#grpc.call(ChatServiceService.sessionClosed, req);
  }

  close(): void {
    this.#grpc.close();
  }
}
