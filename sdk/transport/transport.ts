import type { ServerFrame } from "../../lib/wire/index.js";

/** The two transports of spec §2: raw TCP (19001) and WebSocket binary frames (19002, `/ws`). */
export type TransportKind = "tcp" | "ws";

/** Where a transport reports what it receives; one sink per connection. */
export interface TransportSink {
  /** A complete server frame, in arrival order. */
  frame(frame: ServerFrame): void;
  /**
   * The connection ended, whoever closed it; called exactly once, after the factory resolved.
   * `error` is set when it ended by a failure (socket error, malformed frame).
   */
  closed(error?: Error): void;
}

/**
 * One open client connection: it only moves bytes and frames (docs/style.md §9), the client core does not
 * know which transport it holds except for `kind`, which decides the JSON push shape (spec §2.2
 * data only over TCP, §2.3 the whole pack over WebSocket).
 */
export interface ClientTransport {
  readonly kind: TransportKind;
  /** Writes one encoded client frame; false when the connection is already closed. */
  send(frame: Uint8Array): boolean;
  /** Closes the connection after queued bytes are flushed; idempotent. */
  close(): void;
}

/**
 * Opens one connection. Resolves once it is open; rejects when it cannot be opened (then the sink
 * is never called). The client calls the factory again for every reconnect.
 */
export type TransportFactory = (sink: TransportSink) => Promise<ClientTransport>;
