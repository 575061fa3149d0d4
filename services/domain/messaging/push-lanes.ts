import type { Logger } from "pino";

/** A reserved place in a lane: exactly one of `run` or `cancel` must be called. */
export interface LaneSlot {
  /** Runs `work` once every earlier slot of the lane has finished. */
  run(work: () => Promise<void>): void;
  /** Gives the place up (the send failed); later slots do not wait for it. */
  cancel(): void;
}

/**
 * The pushes that follow ACKs (DESIGN.md §2 step 5), run in the background
 * so an ACK never waits for fan-out (a 500-member group), with two
 * properties:
 * - Order: pushes of one conversation leave this process in the order the
 *   conversation's sequences were allocated (a slot is reserved right after
 *   allocation, before the persistence publish whose latency varies), so a
 *   receiver usually sees 1103s in sequence order. Clients still order by
 *   messageSequence (spec §5.3): several domain processes interleave.
 * - Drain: {@link idle} waits for everything started, so a stopping domain
 *   finishes its pushes, and tests can wait for them.
 * A failing push is logged, never thrown: the message is already durable
 * and devices that missed it catch up through sync (spec §8).
 */
export class PushLanes {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #running = new Set<Promise<void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Reserves the next place in lane `key` (a conversation). */
  reserve(key: string): LaneSlot {
    let settle!: (work: (() => Promise<void>) | null) => void;
    const decided = new Promise<(() => Promise<void>) | null>((resolve) => {
      settle = resolve;
    });
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const done = previous
      .then(() => decided)
      .then((work) => work?.())
      .catch((error: unknown) => this.#log.warn({ err: error }, "push after ACK failed"));
    this.#tails.set(key, done);
    this.#track(done);
    void done.then(() => {
      if (this.#tails.get(key) === done) this.#tails.delete(key);
    });
    let used = false;
    const once = (work: (() => Promise<void>) | null) => {
      if (used) return;
      used = true;
      settle(work);
    };
    return { run: (work) => once(work), cancel: () => once(null) };
  }

  /** Runs `work` in the background outside any lane (work with no place in a conversation's order). */
  spawn(work: () => Promise<void>): void {
    this.#track(
      Promise.resolve()
        .then(work)
        .catch((error: unknown) => this.#log.warn({ err: error }, "push failed")),
    );
  }

  /** Resolves once every push started so far (and those they started) has finished. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  #track(task: Promise<void>): void {
    this.#running.add(task);
    void task.then(() => this.#running.delete(task));
  }
}
