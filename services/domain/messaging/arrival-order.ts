/** One send's place in its conversation's arrival order. */
export interface Turn {
  /** Resolves once every earlier turn of the conversation has left. */
  readonly ready: Promise<void>;
  /** Gives the place up; later turns stop waiting for it. Idempotent. */
  leave(): void;
}

const NOW: Promise<void> = Promise.resolve();

/**
 * Arrival order per conversation for sends that are in flight together (a pipelined connection,
 * a gateway's batch). A send takes its turn synchronously when it arrives, before anything is
 * awaited, and waits for `ready` just before its claim and sequence increment are issued; it
 * leaves right after issuing them and taking its push-lane slot, awaiting nothing in between.
 * Everything before that (validation, the retry lookup, the permission checks) runs concurrently
 * and may finish in any order, yet the conversation's sequences and pushes follow the order the
 * sends arrived in, because kv runs increments in the order they were issued.
 *
 * So only the issuing is serialised per conversation, not a round trip: one conversation takes
 * as many sends a second as the rest of the path allows, and different conversations never wait
 * for each other.
 */
export class ArrivalOrder {
  readonly #tails = new Map<string, Promise<void>>();

  /** Takes the next turn of conversation `key`. */
  enter(key: string): Turn {
    const ready = this.#tails.get(key) ?? NOW;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A turn that leaves early (a retry answered from kv, a refusal) still holds the later ones
    // until every earlier turn has left.
    const left = ready.then(() => released);
    this.#tails.set(key, left);
    void left.then(() => {
      if (this.#tails.get(key) === left) this.#tails.delete(key);
    });
    return { ready, leave: release };
  }

  /** Conversations with a turn outstanding (tests: nothing is left behind). */
  get size(): number {
    return this.#tails.size;
  }
}
