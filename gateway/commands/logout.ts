import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";

/**
 * LOGOUT 9003 (spec §4.4): deletes this device's field from the session hash (unlike a
 * disconnect, which keeps it offline), then closes the connection. The delete is skipped when the
 * field already names a newer connection of the device. No answer frame, as in the original.
 */
export async function handleLogout(ctx: GatewayContext, conn: Connection): Promise<void> {
  const s = conn.session;
  if (s !== undefined) {
    try {
      await ctx.sessions.remove(s);
    } catch (err) {
      ctx.metrics.error("session-write-failed");
      conn.log.warn({ err }, "logout: session delete failed");
    }
  }
  conn.log.info("logged out");
  conn.close("logout");
}
