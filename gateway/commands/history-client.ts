import { type CallOptions, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  HistoryServiceClient,
  type SyncDeviceMessagesRequest,
  type SyncDeviceMessagesResponse,
  type SyncGroupMessagesRequest,
  type SyncGroupMessagesResponse,
  type SyncP2PMessagesRequest,
  type SyncP2PMessagesResponse,
} from "../../gen/ts/whaleshark/v1/history_service.js";
import { INTERNAL_SECRET_METADATA } from "../../lib/grpc/auth.js";

/**
 * The HistoryService calls the gateway makes for a device's sync commands (command.proto
 * 9007 / 9009, history_service.proto), as promises with a deadline. An interface so tests can
 * replace the store; {@link GrpcHistoryCalls} is the real one.
 */
export interface HistoryCalls {
  syncDeviceMessages(req: SyncDeviceMessagesRequest): Promise<SyncDeviceMessagesResponse>;
  syncP2PMessages(req: SyncP2PMessagesRequest): Promise<SyncP2PMessagesResponse>;
  syncGroupMessages(req: SyncGroupMessagesRequest): Promise<SyncGroupMessagesResponse>;
  close(): void;
}

type Unary<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, res: Res) => void,
) => unknown;

/**
 * HistoryService over grpc-js to `address` (`deps.grpcTargets.store`, through discovery). Every
 * call carries the internal secret (metadata `x-whaleshark-internal`, lib/grpc/auth.ts): the store
 * then trusts the request's `operater`, which the gateway takes from the logged-in connection
 * (D26). Each call has a deadline of `timeoutMs` (`gateway.forwardTimeoutMs`), so a store that is
 * down or slow costs the device an error frame, never its connection (as D22 for the domain).
 */
export class GrpcHistoryCalls implements HistoryCalls {
  readonly #client: HistoryServiceClient;
  readonly #metadata: Metadata;

  constructor(
    address: string,
    internalSecret: string,
    private readonly timeoutMs: number,
  ) {
    this.#client = new HistoryServiceClient(address, credentials.createInsecure());
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

  syncDeviceMessages(req: SyncDeviceMessagesRequest): Promise<SyncDeviceMessagesResponse> {
    return this.#call(this.#client.syncDeviceMessages as Unary<typeof req, SyncDeviceMessagesResponse>, req);
  }

  syncP2PMessages(req: SyncP2PMessagesRequest): Promise<SyncP2PMessagesResponse> {
    return this.#call(this.#client.syncP2PMessages as Unary<typeof req, SyncP2PMessagesResponse>, req);
  }

  syncGroupMessages(req: SyncGroupMessagesRequest): Promise<SyncGroupMessagesResponse> {
    return this.#call(this.#client.syncGroupMessages as Unary<typeof req, SyncGroupMessagesResponse>, req);
  }

  close(): void {
    this.#client.close();
  }
}
