import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { INTERNAL_SECRET_METADATA } from "../../lib/grpc/auth.js";
import type { InProcessServices } from "../../lib/grpc/in-process.js";
import { activeTraceparent, TRACEPARENT, tracingOn } from "../../lib/tracing/index.js";

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
 * Channel options of every internal client (issue 15 item 3). grpc-js waits 1 s after a failed
 * connect and then 1.6 times longer each time, up to 2 minutes, so a domain that was down for a
 * few seconds took calls again only 2–5 s after it was listening; here the waits start at 100 ms
 * and stay under 1 s, so a restarted (or newly added) callee is reached within about a second.
 * Keepalive pings during calls notice a callee host that vanished without closing its sockets.
 */
export const INTERNAL_CHANNEL_OPTIONS: Readonly<Record<string, number>> = Object.freeze({
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
});

/**
 * The gRPC client side every internal call of the gateway shares (ChatService to the domain,
 * HistoryService to the store): an insecure channel to `address` that connects lazily and
 * reconnects by itself, soon ({@link INTERNAL_CHANNEL_OPTIONS}), the internal secret on every call (metadata `x-whaleshark-internal`,
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
    this.#client = new Client(address, credentials.createInsecure(), { ...INTERNAL_CHANNEL_OPTIONS });
    this.#metadata = new Metadata();
    this.#metadata.set(INTERNAL_SECRET_METADATA, internalSecret);
  }

  /**
   * Calls `method` with `request`; resolves with the response, rejects with the ServiceError.
   * With tracing on, the call carries W3C trace context (docs/tracing.md): `trace` when given (a
   * batch's per-item `traceparents`), else the active span's `traceparent`.
   */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, trace?: Record<string, string>): Promise<Res> {
    const metadata = tracingOn() ? this.#traced(trace) : this.#metadata;
    const local = this.inProcess?.call(
      method.path,
      method.requestSerialize(request),
      metadata,
      Date.now() + this.timeoutMs,
    );
    if (local !== undefined) return local.then(method.responseDeserialize);
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata === this.#metadata ? metadata.clone() : metadata,
        { deadline: Date.now() + this.timeoutMs },
        (error: ServiceError | null, response?: Res) => (error ? reject(error) : resolve(response as Res)),
      );
    });
  }

  /** The call's metadata with its trace context; the shared one when there is none. */
  #traced(trace: Record<string, string> | undefined): Metadata {
    let entries = trace;
    if (entries === undefined) {
      const active = activeTraceparent();
      if (active === undefined) return this.#metadata;
      entries = { [TRACEPARENT]: active };
    }
    const metadata = this.#metadata.clone();
    for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
    return metadata;
  }

  close(): void {
    this.#client.close();
  }
}
