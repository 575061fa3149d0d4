import { EventEmitter } from "node:events";
import {
  Metadata,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
  type UntypedHandleCall,
} from "@grpc/grpc-js";
import type { MountedService } from "./server.js";

/** A method a server of this process mounted, as an in-process caller reaches it. */
interface LocalMethod {
  handler: UntypedHandleCall;
  definition: MethodDefinition<unknown, unknown>;
}

/**
 * The gRPC services that roles of THIS process serve, by method path, so
 * another role of the same process (`whaleshark start`: gateway → domain and
 * store) calls the handler directly instead of through HTTP/2 over loopback
 * (issue 8: grpc-js and HTTP/2 framing were a tenth of the embedded profile's
 * CPU, twice per message). Everything the handler sees is as over the wire:
 * the request is serialized and deserialized with the method's own
 * functions (a private copy with proto defaults), the metadata is the
 * caller's (so authentication runs unchanged), the call has a deadline and
 * reports `cancelled` when it passes, and the response and errors come back
 * the same way (status, details, trailers). What is skipped: the socket,
 * HTTP/2, grpc-js's channel and filters, the server's interceptors (there are
 * none), and health/reflection (never called in-process).
 *
 * A server registers its services while it runs and removes them when it
 * starts to stop, so callers fall back to the network path (and its errors)
 * exactly as they would see a stopping server.
 */
export class InProcessServices {
  readonly #methods = new Map<string, LocalMethod>();

  /** Registers every handled method of `services`; returns the function that removes them. */
  register(services: readonly MountedService[]): () => void {
    const paths: string[] = [];
    for (const svc of services) {
      for (const [name, definition] of Object.entries(svc.definition)) {
        const handler = svc.handlers[name];
        if (handler === undefined || definition.requestStream || definition.responseStream) continue;
        this.#methods.set(definition.path, { handler, definition });
        paths.push(definition.path);
      }
    }
    return () => {
      for (const path of paths) this.#methods.delete(path);
    };
  }

  /** Whether a server of this process handles `path` right now. */
  has(path: string): boolean {
    return this.#methods.has(path);
  }

  /**
   * Calls the local handler of `path` with the request's wire bytes; resolves
   * with the response's wire bytes, rejects with a ServiceError as grpc-js
   * would (DEADLINE_EXCEEDED after `deadline`). Undefined when no server of
   * this process handles the path (the caller then uses the network).
   */
  call(path: string, request: Buffer, metadata: Metadata, deadline: number): Promise<Buffer> | undefined {
    const local = this.#methods.get(path);
    if (local === undefined) return undefined;
    return new Promise<Buffer>((resolve, reject) => {
      const call = new LocalUnaryCall(
        local.definition.requestDeserialize(request),
        metadata.clone(),
        deadline,
      );
      const timer = setTimeout(
        () => {
          call.cancel();
          reject(serviceError(status.DEADLINE_EXCEEDED, "Deadline exceeded", new Metadata()));
        },
        Math.max(0, deadline - Date.now()),
      );
      const callback: sendUnaryData<unknown> = (error, value, trailer) => {
        clearTimeout(timer);
        if (call.cancelled) return; // the caller got DEADLINE_EXCEEDED already
        if (error) {
          const code = error.code ?? status.UNKNOWN;
          const details = error.details ?? ("message" in error ? error.message : "");
          reject(serviceError(code, details, error.metadata ?? trailer ?? new Metadata()));
          return;
        }
        try {
          resolve(local.definition.responseSerialize(value));
        } catch (thrown) {
          reject(serviceError(status.INTERNAL, `response could not be serialized: ${String(thrown)}`));
        }
      };
      try {
        (local.handler as (c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void)(
          call as unknown as ServerUnaryCall<unknown, unknown>,
          callback,
        );
      } catch (thrown) {
        clearTimeout(timer);
        reject(serviceError(status.UNKNOWN, String(thrown)));
      }
    });
  }
}

/** The parts of grpc-js's ServerUnaryCall our handlers use: request, metadata, deadline, cancellation. */
class LocalUnaryCall extends EventEmitter {
  cancelled = false;

  constructor(
    readonly request: unknown,
    readonly metadata: Metadata,
    readonly deadline: number,
  ) {
    super();
  }

  getDeadline(): number {
    return this.deadline;
  }

  getPeer(): string {
    return "in-process";
  }

  sendMetadata(): void {}

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit("cancelled", "deadline");
  }
}

function serviceError(code: status, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}
