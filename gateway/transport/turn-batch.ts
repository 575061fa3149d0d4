/**
 * Batches the socket writes of one turn of the event loop. Every frame used to be
 * its own `writev` system call: the gateway's echo profile spent about a third of its busy time
 * there, and a bare `ws` server pays the same per message. Frames written while a turn runs (the
 * answers to all frames of one read, the deliveries of one bus batch) are held in the socket by
 * `cork()` and handed to the kernel together by one `uncork()` when the turn ends (`setImmediate`:
 * after the I/O callbacks of this turn and their promise jobs), so N frames cost one system call.
 *
 * Order is unchanged (a corked socket keeps its queue in order, and nested cork/uncork pairs, as
 * `ws` makes around each message, do not flush early). The delay is the rest of the current turn.
 * A socket holding `MAX_HELD_BYTES` or more is flushed at once, so a burst never sits in memory
 * past that, and the owner flushes before judging its queue bound (held bytes are not the peer's
 * fault).
 */

/** The part of a socket batching needs (`net.Socket`, the upgraded socket under `ws`). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Bytes one socket may hold corked before it is flushed without waiting for the turn to end. */
export const MAX_HELD_BYTES = 32 * 1024;

/** Sockets holding frames this turn, flushed together by one setImmediate. */
const holding: TurnBatch[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  // A flush may run user code (stream callbacks) that writes again; those join the next turn.
  const batches = holding.splice(0);
  for (const batch of batches) {
    batch.listed = false;
    batch.flush();
  }
}

/** The write batch of one socket. */
export class TurnBatch {
  /** True while this batch is in `holding` (at most once). */
  listed = false;
  #corked = false;
  #heldBytes = 0;

  constructor(private readonly socket: Corkable) {}

  /** Bytes written since the socket was corked, not yet handed to the kernel. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Call before writing a frame: corks the socket for the rest of this turn. */
  hold(): void {
    if (this.#corked) return;
    this.socket.cork();
    this.#corked = true;
    if (!this.listed) {
      this.listed = true;
      holding.push(this);
    }
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  }

  /** Call after writing a frame of `bytes`: flushes at once past MAX_HELD_BYTES. */
  held(bytes: number): void {
    this.#heldBytes += bytes;
    if (this.#heldBytes >= MAX_HELD_BYTES) this.flush();
  }

  /** Hands what is held to the kernel now (a no-op when nothing is). */
  flush(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#heldBytes = 0;
    this.socket.uncork();
  }
}
