import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { INTERNAL_SECRET_METADATA } from "../../lib/grpc/auth.js";
import type { InProcessServices } from "../../lib/grpc/in-process.js";

/**
 * One unary method of a generated service definition (`ChatServiceService.sendP2PMessage`, ...):
 * all a call needs to reach it.
 */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (request: Req) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

/**
 * The gRPC client side every internal call of the gateway shares (ChatService to the domain,
 * HistoryService to the store): an insecure channel to `address` that connects lazily and
 * reconnects by itself, the internal secret on every call (metadata `x-whaleshark-internal`,
 * lib/grpc/auth.ts, so the callee trusts the gateway's session fields, D26), and a deadline of
 * `timeoutMs` (`gateway.forwardTimeoutMs`) per call. A call is a promise that rejects with the
 * grpc-js ServiceError as it came (error-frame.ts errorInfoOfCall maps it to the client's code),
 * so a callee that is down or slow costs the device one error answer, never its connection (D22).
 */
export class InternalGrpcClient {
  readonly #client: Client;
  readonly #metadata: Metadata;

  constructor(
    address: string,
    internalSecret: string,
    private readonly timeoutMs: number,
    /** Servers of this same process (`whaleshark start`), called directly while they run. */
    private readonly inProcess?: InProcessServices,
  ) {
    this.#client = new Client(address, credentials.createInsecure());
    this.#metadata = new Metadata();
    this.#metadata.set(INTERNAL_SECRET_METADATA, internalSecret);
  }

  /** Calls `method` with `request`; resolves with the response, rejects with the ServiceError. */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const local = this.inProcess?.call(
      method.path,
      method.requestSerialize(request),
      this.#metadata,
      Date.now() + this.timeoutMs,
    );
    if (local !== undefined) return local.then(method.responseDeserialize);
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#metadata.clone(),
        { deadline: Date.now() + this.timeoutMs },
        (error: ServiceError | null, response?: Res) => (error ? reject(error) : resolve(response as Res)),
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}
