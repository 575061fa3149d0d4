import { yieldTurn } from "../../../lib/grpc/deadline.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { notify } from "../core/notify.js";
import type { AddMemberOutcome } from "../group/groups.js";

/**
 * Long member operations in slices (issue 13 item 3). Adding a member was five or so queries. In
 * one transaction, 10,000 members held the database, and on PGlite (one session, run on the event
 * loop's thread) the whole process with it: other users' sends (each does a query) and even
 * /metrics waited 9 s. Now members are added in short transactions of at most
 * {@link MEMBER_CHUNK} members (a handful of queries for all of them), and after each the work pauses for half as long as it
 * took ({@link MAX_PAUSE_MS} at most), so what waits for the database or the event loop runs in
 * between: a bulk add takes at most about two thirds of the process, however long the list, and
 * stays out of the way of the many short calls. The caller's deadline is checked at each pause
 * (the call is abandoned once it has passed). A notification to a big group goes out
 * {@link NOTIFY_CHUNK} recipients per push.
 *
 * The price: a call is no longer all or nothing. A
 * call that fails or is abandoned half-way keeps the transactions it committed (their members are
 * notified, and a retry reports them as already members, result 2); each commit bumps the group's
 * sequence and change token at once.
 */

/**
 * Most members added in one transaction: a handful of queries for all of them
 * (group/group-rows.ts addMembers) plus one per new conversation (its owner's sequence): tens of
 * milliseconds on PGlite, during which every other query of
 * the process waits.
 */
export const MEMBER_CHUNK = 20;

/** The longest pause between two transactions, ms. */
export const MAX_PAUSE_MS = 50;

/** Recipients of one notification push (their sessions are read and their batches built at once). */
export const NOTIFY_CHUNK = 500;

/** What {@link addInChunks} did: the outcomes of the members it got to, and why it stopped early. */
export interface ChunkedAdd {
  results: AddMemberOutcome[];
  /** The error that stopped it (the deadline, a destroyed group, ...); undefined when it finished. */
  stopped: unknown;
}

/**
 * Adds `items` in order, in short transactions (see the top): `addChunk` adds the next
 * {@link MEMBER_CHUNK} of them in one transaction of its own (GroupStore.addMembers,
 * group/group-store.ts: it re-checks that the group is live, takes the group's sequence when it
 * added anyone and bumps its change token after the commit), then the work pauses.
 * Stops before the next transaction once `ctx.signal` aborts. Never throws after a transaction
 * committed: the error is returned in `stopped` so that the caller can report what was done.
 */
export async function addInChunks<T>(
  ctx: RequestContext,
  items: readonly T[],
  addChunk: (items: readonly T[]) => Promise<AddMemberOutcome[]>,
): Promise<ChunkedAdd> {
  const results: AddMemberOutcome[] = [];
  let spent = 0;
  try {
    ctx.signal?.throwIfAborted();
    while (results.length < items.length) {
      if (results.length > 0) await pause(spent / 2, ctx.signal);
      const from = results.length;
      const t0 = performance.now();
      results.push(...(await addChunk(items.slice(from, from + MEMBER_CHUNK))));
      spent = performance.now() - t0;
    }
    return { results, stopped: undefined };
  } catch (error) {
    if (results.length === 0) throw error; // nothing committed: an ordinary failure
    return { results, stopped: error };
  }
}

/**
 * {@link notify} to `recipients` (each once), {@link NOTIFY_CHUNK} at a time with the event loop
 * yielded between pushes. Not abandoned at the deadline: the change is committed, and its
 * notifications are what tell the devices.
 */
export async function notifyInChunks(
  env: DomainEnv,
  ctx: RequestContext,
  recipients: Iterable<string>,
  command: number,
  data: unknown,
): Promise<void> {
  const unique = [...new Set(recipients)];
  for (let i = 0; i < unique.length; i += NOTIFY_CHUNK) {
    if (i > 0) await yieldTurn();
    await notify(env, ctx, unique.slice(i, i + NOTIFY_CHUNK), command, data);
  }
}

/** Lets other work run for `ms` (at least one turn of the event loop), then checks the caller's signal. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_PAUSE_MS, Math.max(1, ms))));
  signal?.throwIfAborted();
}
