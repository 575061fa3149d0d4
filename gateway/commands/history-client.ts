import {
  HistoryServiceService,
  type SyncDeviceMessagesRequest,
  type SyncDeviceMessagesResponse,
  type SyncGroupMessagesRequest,
  type SyncGroupMessagesResponse,
  type SyncP2PMessagesRequest,
  type SyncP2PMessagesResponse,
} from "../../gen/ts/whaleshark/v1/history_service.js";
import type { InProcessServices } from "../../lib/grpc/in-process.js";
import { InternalGrpcClient } from "./internal-grpc.js";

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

/**
 * HistoryService over gRPC to `address` (`deps.grpcTargets.store`, through discovery), through
 * InternalGrpcClient: the internal secret makes the store trust the request's `operater`, which
 * the gateway takes from the logged-in connection (D26); the `gateway.forwardTimeoutMs` deadline
 * means a store that is down or slow costs the device an error frame, never its connection (as
 * D22 for the domain).
 */
export class GrpcHistoryCalls implements HistoryCalls {
  readonly #grpc: InternalGrpcClient;

  constructor(address: string, internalSecret: string, timeoutMs: number, inProcess?: InProcessServices) {
    this.#grpc = new InternalGrpcClient(address, internalSecret, timeoutMs, inProcess);
  }

  syncDeviceMessages(req: SyncDeviceMessagesRequest): Promise<SyncDeviceMessagesResponse> {
    return this.#grpc.call(HistoryServiceService.syncDeviceMessages, req);
  }

  syncP2PMessages(req: SyncP2PMessagesRequest): Promise<SyncP2PMessagesResponse> {
    return this.#grpc.call(HistoryServiceService.syncP2PMessages, req);
  }

  syncGroupMessages(req: SyncGroupMessagesRequest): Promise<SyncGroupMessagesResponse> {
    return this.#grpc.call(HistoryServiceService.syncGroupMessages, req);
  }

  close(): void {
    this.#grpc.close();
  }
}
