import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";

/**
 * Renews a logged-in connection's session record when due (SessionStore.renewalDue): called after
 * every frame, so any traffic, not only PING, keeps the session alive. A kv failure is counted and
 * logged; the connection stays (the next frame retries).
 */
export async function renewIfDue(ctx: GatewayContext, conn: Connection): Promise<void> {
  const s = conn.session;
  if (s === undefined || conn.state !== "logged-in" || !ctx.sessions.renewalDue(s)) return;
  try {
    const renewed = await ctx.sessions.renew(s);
    if (conn.state === "logged-in") conn.session = renewed;
  } catch (err) {
    ctx.metrics.error("session-renew-failed");
    conn.log.warn({ err }, "session renewal failed");
  }
}

/**
 * PING 9999 (spec §4.5): the frame itself already counted as activity for the heartbeat monitor
 * (fixes D3), and the dispatcher renews the session after it. No answer, as in the original: its
 * clients expect none.
 */
export async function handlePing(_ctx: GatewayContext, _conn: Connection): Promise<void> {}
