import * as grpc from "@grpc/grpc-js";
import {
  type ChatServiceSendMessagesRequest,
  ChatServiceService,
  type ChatServiceSessionClosedRequest,
} from "../../../gen/ts/whaleshark/v1/chat_service.js";
import { ImError } from "../../../lib/errors/index.js";
import { toServiceError } from "../../../lib/grpc/errors.js";

/** One call the fake domain received. */
export interface ReceivedCall {
  method: string;
  request: unknown;
  metadata: grpc.Metadata;
}

/** What the fake domain answers; by default every call succeeds. */
export interface FakeDomainBehaviour {
  /** Delay before answering, in ms. */
  delayMs?: number;
  /** Refuse with this catalogue error instead of answering. */
  refuse?: ConstructorParameters<typeof ImError>[0];
}

/**
 * A ChatService on a real grpc-js server, standing in for the domain (whose ChatService is not
 * built yet), so the gateway's forwarding path is exercised over the wire: deadline, metadata,
 * status and the `whaleshark-code` trailer.
 */
export class FakeDomain {
  readonly calls: ReceivedCall[] = [];
  behaviour: FakeDomainBehaviour = {};
  #server = new grpc.Server();
  port = 0;

  /** Calls of one method, in arrival order. */
  of(method: string): ReceivedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  get sessionsClosed(): ChatServiceSessionClosedRequest[] {
    return this.of("sessionClosed").map((c) => c.request as ChatServiceSessionClosedRequest);
  }

  async start(): Promise<string> {
    const handler =
      (method: string, answer: (req: never) => object) =>
      (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        this.calls.push({ method, request: call.request, metadata: call.metadata });
        const { delayMs = 0, refuse } = this.behaviour;
        setTimeout(() => {
          if (refuse !== undefined && method !== "sessionClosed") {
            callback(toServiceError(ImError.of(refuse)) as grpc.ServiceError);
          } else {
            callback(null, answer(call.request as never));
          }
        }, delayMs);
      };
    const ack = (req: { content?: { messageId?: string } }) => ({
      data: { messageId: req.content?.messageId ?? "", messageKey: 99, messageSequence: 7 },
    });
    // A batch is recorded as the single calls it stands for (sendP2PMessage / sendGroupMessage),
    // each answered like one: refused items carry the code, the others the ack.
    const sendMessages = (
      call: grpc.ServerUnaryCall<ChatServiceSendMessagesRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const singles = call.request.items.map((item) => ({
        method: item.p2p !== undefined ? "sendP2PMessage" : "sendGroupMessage",
        request: { session: item.session, content: item.p2p ?? item.group },
      }));
      for (const single of singles) this.calls.push({ ...single, metadata: call.metadata });
      const { delayMs = 0, refuse } = this.behaviour;
      setTimeout(() => {
        const results = singles.map((single) => {
          if (refuse === undefined) return { code: 0, msg: "", ...ack(single.request) };
          const error = ImError.of(refuse);
          return { code: error.code, msg: error.message };
        });
        callback(null, { results });
      }, delayMs);
    };
    const impl: grpc.UntypedServiceImplementation = {
      sendMessages,
      sendP2PMessage: handler("sendP2PMessage", ack),
      sendGroupMessage: handler("sendGroupMessage", ack),
      receiveAck: handler("receiveAck", () => ({})),
      markRead: handler("markRead", () => ({})),
      recallMessage: handler("recallMessage", (req: { content?: { messageKey?: number } }) => ({
        data: { messageKey: req.content?.messageKey ?? 0 },
      })),
      sessionClosed: handler("sessionClosed", () => ({})),
    };
    this.#server.addService(ChatServiceService, impl);
    this.port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    return `127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.tryShutdown(() => resolve()));
  }
}
