import type { RequestContext } from "../../../lib/grpc/serve.js";
import { ALL, exceptCaller, type PushItem, type PushTarget } from "../../../lib/push/pusher.js";
import type { DomainEnv } from "./env.js";

/**
 * Notifications of API calls (spec §3.4–§3.6, §5.6).
 *
 * Recipients: the operator's own devices except the calling one (the one
 * the RequestBase names, when it names one), every device of anyone else.
 * This also fixes D30 for group notifications: the original skipped the
 * calling device only for WebApi callers, the inverse of the intent.
 *
 * Notifications are sent after the change committed. A failing push does not
 * fail the call (the change is made; devices that missed the push catch up
 * through sync, spec §8); it is logged.
 */

/** How a notification reaches `userId` for a call made by `ctx`. */
export function targetFor(ctx: RequestContext, userId: string): PushTarget {
  return userId === ctx.operator ? exceptCaller(ctx.device) : ALL;
}

/** Sends one notification per recipient (one bus publish per gateway node in all). */
export async function notify(
  env: DomainEnv,
  ctx: RequestContext,
  recipients: Iterable<string>,
  command: number,
  data: unknown,
): Promise<void> {
  const items: PushItem[] = [...new Set(recipients)].map((userId) => ({
    userId,
    target: targetFor(ctx, userId),
    command,
    data,
  }));
  await send(env, ctx, items);
}

/** Sends prepared items (different data per recipient), logging instead of failing. */
export async function send(env: DomainEnv, ctx: RequestContext, items: PushItem[]): Promise<void> {
  try {
    await env.pusher.pushAll(ctx.appId, items);
  } catch (error) {
    ctx.log.warn({ err: error, command: items[0]?.command }, "notification not delivered");
  }
}
