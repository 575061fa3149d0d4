import { type CallOptions, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  ChatServiceClient,
  type ChatServiceMarkReadRequest,
  type ChatServiceMarkReadResponse,
  type ChatServiceRecallMessageRequest,
  type ChatServiceRecallMessageResponse,
  type ChatServiceReceiveAckRequest,
  type ChatServiceReceiveAckResponse,
  type ChatServiceSendGroupMessageRequest,
  type ChatServiceSendGroupMessageResponse,
  type ChatServiceSendP2PMessageRequest,
  type ChatServiceSendP2PMessageResponse,
  type ChatServiceSessionClosedRequest,
  type ChatServiceSessionClosedResponse,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import { INTERNAL_SECRET_METADATA } from "../../lib/grpc/auth.js";

/**
 * The ChatService calls the gateway makes (chat_service.proto), as promises with a deadline.
 * An interface so tests can count calls; {@link GrpcChatCalls} is the real one.
 */
export interface ChatCalls {
  sendP2PMessage(req: ChatServiceSendP2PMessageRequest): Promise<ChatServiceSendP2PMessageResponse>;
  sendGroupMessage(req: ChatServiceSendGroupMessageRequest): Promise<ChatServiceSendGroupMessageResponse>;
  receiveAck(req: ChatServiceReceiveAckRequest): Promise<ChatServiceReceiveAckResponse>;
  markRead(req: ChatServiceMarkReadRequest): Promise<ChatServiceMarkReadResponse>;
  recallMessage(req: ChatServiceRecallMessageRequest): Promise<ChatServiceRecallMessageResponse>;
  sessionClosed(req: ChatServiceSessionClosedRequest): Promise<ChatServiceSessionClosedResponse>;
  close(): void;
}

/** A unary grpc-js method in its (request, metadata, options, callback) form. */
type Unary<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, res: Res) => void,
) => unknown;

/**
 * ChatService over grpc-js to `address` (`discovery.domain`). Every call carries the internal
 * secret (metadata `x-whaleshark-internal`, lib/grpc/auth.ts) and a deadline of `timeoutMs`
 * (`gateway.forwardTimeoutMs`), and runs off the socket path (async), so a slow or dead domain
 * costs the caller one error ACK, never the connection (fixes D22). The channel connects lazily
 * and reconnects by itself; a call while the domain is down fails fast with UNAVAILABLE.
 */
export class GrpcChatCalls implements ChatCalls {
  readonly #client: ChatServiceClient;
  readonly #metadata: Metadata;

  constructor(
    address: string,
    internalSecret: string,
    private readonly timeoutMs: number,
  ) {
    this.#client = new ChatServiceClient(address, credentials.createInsecure());
    this.#metadata = new Metadata();
    this.#metadata.set(INTERNAL_SECRET_METADATA, internalSecret);
  }

  #call<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method.call(
        this.#client,
        req,
        this.#metadata.clone(),
        { deadline: Date.now() + this.timeoutMs },
        (error: ServiceError | null, res: Res) => (error ? reject(error) : resolve(res)),
      );
    });
  }

  sendP2PMessage(req: ChatServiceSendP2PMessageRequest): Promise<ChatServiceSendP2PMessageResponse> {
    return this.#call(
      this.#client.sendP2PMessage as Unary<typeof req, ChatServiceSendP2PMessageResponse>,
      req,
    );
  }

  sendGroupMessage(req: ChatServiceSendGroupMessageRequest): Promise<ChatServiceSendGroupMessageResponse> {
    return this.#call(
      this.#client.sendGroupMessage as Unary<typeof req, ChatServiceSendGroupMessageResponse>,
      req,
    );
  }

  receiveAck(req: ChatServiceReceiveAckRequest): Promise<ChatServiceReceiveAckResponse> {
    return this.#call(this.#client.receiveAck as Unary<typeof req, ChatServiceReceiveAckResponse>, req);
  }

  markRead(req: ChatServiceMarkReadRequest): Promise<ChatServiceMarkReadResponse> {
    return this.#call(this.#client.markRead as Unary<typeof req, ChatServiceMarkReadResponse>, req);
  }

  recallMessage(req: ChatServiceRecallMessageRequest): Promise<ChatServiceRecallMessageResponse> {
    return this.#call(this.#client.recallMessage as Unary<typeof req, ChatServiceRecallMessageResponse>, req);
  }

  sessionClosed(req: ChatServiceSessionClosedRequest): Promise<ChatServiceSessionClosedResponse> {
    return this.#call(this.#client.sessionClosed as Unary<typeof req, ChatServiceSessionClosedResponse>, req);
  }

  close(): void {
    this.#client.close();
  }
}
