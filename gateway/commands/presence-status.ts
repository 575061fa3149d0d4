import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { longerThan, textFault } from "../../lib/grpc/text-check.js";
import { CUSTOM_STATUS_MAX_CHARS } from "../../lib/presence/presence-keys.js";
import type { JsonObject } from "../../lib/wire/index.js";
import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";
import { errorInfo, sendError } from "./error-frame.js";

/**
 * USER_ONLINE_STATUS_CHANGE 4001, C→S (command.proto): the logged-in user sets their custom status
 * text. Only `customStatus` of the body is read (absent = "", which clears it); user, app and
 * device are the login's. The text goes to kv and the user is marked for the domain's presence
 * sweep (lib/presence), which pushes 4004 / 4005 after the coalescing window. Not answered on
 * success; a bad text is answered 9006 naming 4001 with 90001.
 */
export async function handleSetStatus(
  ctx: GatewayContext,
  conn: Connection,
  body: JsonObject,
): Promise<void> {
  const s = conn.session;
  if (s === undefined) return; // dispatch routes only logged-in connections here
  const text = body.customStatus ?? "";
  const fault = statusFault(text);
  if (fault !== undefined || typeof text !== "string") {
    ctx.metrics.error("presence-status-refused");
    sendError(conn, errorInfo("PARAMETER_ERROR", fault), Command.COMMAND_USER_ONLINE_STATUS_CHANGE);
    return;
  }
  if (ctx.presence === undefined) return;
  await ctx.presence.setCustom(s.appId, s.userId, { text, clientType: s.clientType, imei: s.imei });
}

/** What is wrong with a customStatus value, if anything. */
export function statusFault(text: unknown): string | undefined {
  if (typeof text !== "string") return "customStatus must be a string";
  const fault = textFault(text);
  if (fault !== undefined) return `customStatus ${fault}`;
  if (longerThan(text, CUSTOM_STATUS_MAX_CHARS)) {
    return `customStatus is longer than ${CUSTOM_STATUS_MAX_CHARS} characters`;
  }
  return undefined;
}
