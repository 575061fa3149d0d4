/** One kv operation waiting for its turn's batch. */
export interface BatchOp {
  /** The operation's keys: one, or two for `claimAndCount` (its reply is the first key's). */
  keys: readonly string[];
  /** The operation's code and arguments after the key (lua/kv-batch.lua). */
  args: string[];
  resolve(reply: unknown): void;
  reject(error: Error): void;
}

/** Runs one batch: the keys and arguments of its operations; answers `[status, reply]` per key. */
export type RunBatch = (keys: string[], args: string[]) => Promise<Array<[number, unknown]>>;

/** Most operations in one script call (bounds the script's run time and its argument list). */
export const MAX_BATCH_OPS = 512;

/**
 * Gathers the single-key kv operations a process issues within one callback and the promise
 * continuations it starts (GET, SET, INCRBY, HGETALL, DEL) into one script call (lua/kv-batch.lua) that runs them in call order.
 * Under load a send makes several kv calls and hundreds of sends are in flight, so this turns
 * thousands of commands a second into a few hundred script calls: far fewer command objects,
 * socket writes and reply parses on both sides. A lone operation still leaves within the turn.
 *
 * Order: operations run in the order they were issued, also relative to commands that do not go
 * through the batch, because such a command first sends what is waiting ({@link flush}).
 */
export class TickBatch {
  #ops: BatchOp[] = [];
  #scheduled = false;

  /**
   * @param slotOf on a Redis Cluster, the slot of a key: a script may only touch keys of one slot,
   *   so each flush then makes one call per slot (operations keep their order within it; keys of
   *   different slots have no order to keep). Absent on a single node: one call for everything.
   */
  constructor(
    private readonly run: RunBatch,
    private readonly slotOf?: (key: string) => number,
  ) {}

  /** Queues one operation; resolves with its reply, rejects with its own or the call's error. */
  add(key: string | readonly string[], args: string[]): Promise<unknown> {
    const keys = typeof key === "string" ? [key] : key;
    return new Promise((resolve, reject) => {
      this.#ops.push({ keys, args, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the current callback and the promise continuations it started, not at the end of
        // the event-loop turn: a send makes several kv calls one after another, and waiting for
        // the turn to end before each of them would add a turn's length to every step.
        process.nextTick(() => this.flush());
      }
    });
  }

  /** Sends every waiting operation now (before a command that must not overtake them). */
  flush(): void {
    this.#scheduled = false;
    const waiting = this.#ops;
    this.#ops = [];
    for (const group of this.#bySlot(waiting)) {
      for (let i = 0; i < group.length; i += MAX_BATCH_OPS) this.#send(group.slice(i, i + MAX_BATCH_OPS));
    }
  }

  /** The operations in one group per slot (first key's; an operation's keys share it), in call order. */
  #bySlot(ops: BatchOp[]): BatchOp[][] {
    const slotOf = this.slotOf;
    if (slotOf === undefined) return [ops];
    const groups = new Map<number, BatchOp[]>();
    for (const op of ops) {
      const slot = slotOf(op.keys[0] ?? "");
      const group = groups.get(slot);
      if (group === undefined) groups.set(slot, [op]);
      else group.push(op);
    }
    return [...groups.values()];
  }

  #send(ops: BatchOp[]): void {
    const keys: string[] = [];
    const args: string[] = [];
    const firstKey: number[] = [];
    for (const op of ops) {
      firstKey.push(keys.length);
      for (const k of op.keys) keys.push(k);
      for (const a of op.args) args.push(a);
    }
    this.run(keys, args).then(
      (replies) => {
        ops.forEach((op, i) => {
          const reply = replies[firstKey[i] ?? -1];
          if (reply === undefined) op.reject(new Error("kv batch: missing reply"));
          else if (reply[0] === 0) op.resolve(reply[1]);
          else op.reject(new Error(String(reply[1])));
        });
      },
      (error: unknown) => {
        const err = error instanceof Error ? error : new Error(String(error));
        for (const op of ops) op.reject(err);
      },
    );
  }
}
