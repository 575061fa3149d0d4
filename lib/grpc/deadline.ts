import { setImmediate as nextTurn } from "node:timers/promises";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";

/**
 * The caller's deadline on the serving side (issue 13 item 3): a call whose caller has given up
 * (its deadline passed, or it cancelled) is not worth finishing. grpc-js answers such a call with
 * DEADLINE_EXCEEDED itself but runs the handler to its end all the same, so a burst of calls with
 * short deadlines and big requests kept the process busy long after every caller had left.
 *
 * lib/grpc/serve.ts refuses a call whose deadline has passed before its handler starts, and hands
 * the handler an AbortSignal that aborts when it passes; long handlers check it between chunks of
 * work ({@link yieldTurn}, {@link inChunks}), so what is abandoned is abandoned between two
 * chunks, and in a transaction rolled back.
 */

/** The reason of an aborted call signal: the caller's deadline passed, or it cancelled. */
export class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded";

  constructor(readonly why: "deadline" | "cancelled") {
    super(why === "deadline" ? "the caller's deadline has passed" : "the caller cancelled the call");
  }
}

/** Whether `error` is (or was caused by) a {@link DeadlineExceeded}. */
export function isDeadlineExceeded(error: unknown): error is DeadlineExceeded {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DeadlineExceeded) return true;
  }
  return false;
}

/** What a call abandoned for its deadline answers (its caller has stopped listening anyway). */
export function deadlineExceededStatus(): Partial<ServiceError> & { code: status } {
  return { code: status.DEADLINE_EXCEEDED, details: "Deadline exceeded", metadata: new Metadata() };
}

/** The parts of a grpc-js ServerUnaryCall (or the in-process one) this module reads; all optional. */
export interface CallWithDeadline {
  getDeadline?(): Date | number;
  on?(event: "cancelled", listener: () => void): unknown;
  removeListener?(event: "cancelled", listener: () => void): unknown;
}

/** A call's abort signal and the function that stops watching (once the call is answered). */
export interface CallSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** Longest timer Node takes (ms); a deadline further away is as good as none. */
const MAX_TIMER_MS = 2_147_483_647;

/** The call's deadline as epoch ms; Infinity when it has none. */
export function deadlineOf(call: CallWithDeadline): number {
  const deadline = call.getDeadline?.();
  if (deadline === undefined) return Number.POSITIVE_INFINITY;
  const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/**
 * A signal that aborts (reason {@link DeadlineExceeded}) when `call`'s deadline passes or the
 * call is cancelled; aborted already when the deadline has passed. `dispose` once answered.
 */
export function callSignal(call: CallWithDeadline, now = Date.now()): CallSignal {
  const controller = new AbortController();
  const remaining = deadlineOf(call) - now;
  if (remaining <= 0) {
    controller.abort(new DeadlineExceeded("deadline"));
    return { signal: controller.signal, dispose: () => undefined };
  }
  const onCancel = () => controller.abort(new DeadlineExceeded("cancelled"));
  const timer =
    remaining < MAX_TIMER_MS
      ? setTimeout(() => controller.abort(new DeadlineExceeded("deadline")), remaining)
      : undefined;
  timer?.unref?.();
  call.on?.("cancelled", onCancel);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      call.removeListener?.("cancelled", onCancel);
    },
  };
}

/**
 * Lets the event loop run what waits (other callers' I/O, timers, /metrics), then throws the
 * signal's reason when it has aborted. Long loops call it between chunks of their work.
 */
export async function yieldTurn(signal?: AbortSignal): Promise<void> {
  await nextTurn();
  signal?.throwIfAborted();
}

/**
 * Runs `work` over `items` in chunks of at most `size`, in order, yielding the event loop between
 * two chunks and stopping (throwing the reason) once `signal` aborts. Checked before the first
 * chunk too, so nothing is done for a caller that has already gone.
 */
export async function inChunks<T>(
  items: readonly T[],
  size: number,
  signal: AbortSignal | undefined,
  work: (chunk: readonly T[], offset: number) => Promise<void>,
): Promise<void> {
  signal?.throwIfAborted();
  for (let offset = 0; offset < items.length; offset += size) {
    if (offset > 0) await yieldTurn(signal);
    await work(items.slice(offset, offset + size), offset);
  }
}
