import type { Logger } from "pino";
import { activeContext, tracingOn, withContext } from "../../../lib/tracing/index.js";

/**
 * The push of one slot, started in lane order: by the time it is called, every earlier slot's
 * push of the lane has been started (and the Pusher publishes in call order).
 */
export type LanePush = () => Promise<void>;

/**
 * A slot's work: what may run beside the lane's other work (reading a group's members), then the
 * push to start in lane order. Returning nothing means the work needed no push.
 */
export type LaneWork = () => Promise<LanePush | undefined>;

/** A reserved place in a lane: exactly one of `run` or `cancel` must be called. */
export interface LaneSlot {
  /** Runs `work`; its push starts after every earlier slot's push of the lane has started. */
  run(work: LaneWork): void;
  /** Gives the place up (the send failed); later slots do not wait for it. */
  cancel(): void;
}

interface Slot {
  /** undefined while undecided; null when cancelled. */
  work: LaneWork | null | undefined;
}

interface Lane {
  slots: Slot[];
  running: boolean;
}

/**
 * `work`, and the push it returns, run in the trace context of the caller of `run` (its message's
 * send span, docs/tracing.md) rather than that of whichever earlier slot's wave starts them.
 */
function inCallerContext(work: LaneWork): LaneWork {
  const ctx = activeContext();
  return async () => {
    const push = await withContext(ctx, work);
    return push === undefined ? undefined : () => withContext(ctx, push);
  };
}

/**
 * The pushes that follow ACKs (docs/architecture.md §2 step 5), run in the background
 * so an ACK never waits for fan-out (a 500-member group), with two
 * properties:
 * - Order: pushes of one conversation leave this process in the order the
 *   conversation's sequences were allocated (a slot is reserved right after
 *   allocation, before the persistence publish whose latency varies), so a
 *   receiver usually sees 1103s in sequence order. Clients still order by
 *   messageSequence (spec §5.3): several domain processes interleave.
 * - Throughput: a lane runs in waves. Every slot decided when the previous
 *   wave ends joins the next one: their work runs side by side, then their
 *   pushes start one after another in slot order within the same turn, so
 *   the Pusher publishes them together, in order. A busy conversation (a
 *   pipelined connection, a chatty group) pays one publish per wave, not one
 *   round trip per message.
 * - Drain: {@link idle} waits for everything started, so a stopping domain
 *   finishes its pushes, and tests can wait for them.
 * A failing push is logged, never thrown: the message is already durable
 * and devices that missed it catch up through sync (spec §8).
 */
export class PushLanes {
  readonly #lanes = new Map<string, Lane>();
  readonly #running = new Set<Promise<void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Reserves the next place in lane `key` (a conversation). */
  reserve(key: string): LaneSlot {
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { slots: [], running: false };
      this.#lanes.set(key, lane);
    }
    const slot: Slot = { work: undefined };
    lane.slots.push(slot);
    const decide = (work: LaneWork | null) => {
      if (slot.work !== undefined) return;
      slot.work = work;
      this.#pump(key);
    };
    return { run: (work) => decide(tracingOn() ? inCallerContext(work) : work), cancel: () => decide(null) };
  }

  /** Starts the lane's next wave unless one is running: the decided slots at its head. */
  #pump(key: string): void {
    const lane = this.#lanes.get(key);
    if (lane === undefined || lane.running) return;
    const wave: LaneWork[] = [];
    let taken = 0;
    for (const slot of lane.slots) {
      if (slot.work === undefined) break;
      taken += 1;
      if (slot.work !== null) wave.push(slot.work);
    }
    lane.slots.splice(0, taken);
    if (wave.length === 0) {
      if (lane.slots.length === 0) this.#lanes.delete(key);
      return;
    }
    lane.running = true;
    const warn = (error: unknown) => {
      this.#log.warn({ err: error }, "push after ACK failed");
      return undefined;
    };
    const task = Promise.all(wave.map((work) => Promise.resolve().then(work).catch(warn)))
      .then((pushes) => Promise.all(pushes.map((push) => push?.().catch(warn))))
      .then(() => {
        lane.running = false;
        this.#pump(key);
      });
    this.#track(task);
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
