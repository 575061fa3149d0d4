import type { RequestContext } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { ChangeTokens } from "./change-tokens.js";

type Handler = (req: never, ctx: RequestContext) => Promise<unknown>;

/**
 * Wraps the named handlers of a group service so each bumps its group's
 * change token after it ran (cache/change-tokens.ts): every write to a group
 * or member row goes through one of these RPCs, inside helpers that only see
 * the transaction, so the RPC boundary is the one place that knows both the
 * group and that the commit is over. A request without a group id (a group
 * created under a new generated id) has nothing cached to invalidate.
 */
export function bumpingGroupWrites<H extends Partial<Record<string, Handler>>>(
  env: Pick<DomainEnv, "changes">,
  handlers: H,
  writes: ReadonlyArray<keyof H & string>,
): H {
  const wrapped: Partial<Record<string, Handler>> = { ...handlers };
  for (const name of writes) {
    const handler = handlers[name] as Handler | undefined;
    if (handler === undefined) throw new Error(`bumpingGroupWrites: no handler ${name}`);
    wrapped[name] = ((req: { groupId?: string }, ctx: RequestContext) => {
      const groupId = req.groupId ?? "";
      const scopes = groupId === "" ? [] : [ChangeTokens.group(ctx.appId, groupId)];
      return env.changes.around(scopes, () => handler(req as never, ctx));
    }) as Handler;
  }
  return wrapped as H;
}
