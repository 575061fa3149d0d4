import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import {
  type ClientFrame,
  decodeBody,
  isBodyError,
  isMessageEncoding,
  type JsonObject,
  MessageEncoding,
} from "../../lib/wire/index.js";
import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";
import { errorInfo, errorInfoOf, sendError } from "./error-frame.js";
import { FORWARDED_COMMANDS, handleForward } from "./forward.js";
import { handleLogin } from "./login.js";
import { handleLogout } from "./logout.js";
import { handlePing, renewIfDue } from "./ping.js";
import { handleSetStatus } from "./presence-status.js";
import { handleSync, SYNC_COMMANDS } from "./sync.js";

/**
 * Routes one client frame (spec §3.7) and enforces the bad-input rules of docs/architecture.md §4 "Bad input"
 * (fixes D21, D26). Every refusal answers COMMAND_ERROR 9006 and is counted in `errors_total{kind}`:
 *
 * | input                                   | code  | connection |
 * |-----------------------------------------|-------|------------|
 * | messageType not 0 / 1                   | 90001 | kept       |
 * | any command but LOGIN before login      | 60002 | kept       |
 * | LOGIN refused (body, app, userSign)     | 600xx | closed     |
 * | unknown or S→C-only command             | 90001 | kept       |
 * | body that does not parse                | 90001 | kept       |
 * | `fromId` not the logged-in user         | 60005 | kept       |
 * | malformed frame (lengths, size, imei)   | none  | closed (transport, before any frame is built) |
 *
 * A malformed frame cannot be answered safely: the stream is out of step, so the transport closes
 * it and the hooks count it. Nothing thrown here escapes: an unexpected error answers 90000 and
 * keeps the connection.
 */
export async function handleFrame(ctx: GatewayContext, conn: Connection, frame: ClientFrame): Promise<void> {
  const { command } = frame;
  ctx.metrics.frameIn(conn.transport.kind, command);
  try {
    await route(ctx, conn, frame);
    await renewIfDue(ctx, conn);
  } catch (err) {
    ctx.metrics.error("handler-failed");
    conn.log.error({ err, command }, "frame handler failed");
    sendError(conn, errorInfoOf(err), command);
  }
}

async function route(ctx: GatewayContext, conn: Connection, frame: ClientFrame): Promise<void> {
  const { command } = frame;
  if (!isMessageEncoding(frame.messageType)) {
    ctx.metrics.error("body-unsupported-encoding");
    if (conn.state !== "logged-in") conn.encoding = MessageEncoding.JSON;
    sendError(conn, errorInfo("PARAMETER_ERROR", `messageType ${frame.messageType}`), command);
    return;
  }
  // Before login, answer in the encoding the client is speaking.
  if (conn.state !== "logged-in") conn.encoding = frame.messageType;

  if (command === Command.COMMAND_LOGIN) {
    const body = decode(ctx, conn, frame);
    if (body === undefined) {
      ctx.metrics.logins.inc({ transport: conn.transport.kind, result: "90001" });
      if (conn.state !== "logged-in") conn.close("login-failed");
      return;
    }
    await handleLogin(ctx, conn, frame, body);
    return;
  }
  if (conn.state !== "logged-in") {
    ctx.metrics.error("before-login");
    sendError(conn, errorInfo("OPERATER_NOT_EXIST", "not logged in"), command);
    return;
  }
  if (command === Command.COMMAND_PING) return handlePing(ctx, conn); // body ignored (spec §3.1)
  if (command === Command.COMMAND_LOGOUT) return handleLogout(ctx, conn); // body ignored
  if (SYNC_COMMANDS.has(command)) {
    // Answered from the store's history (sync.ts), not the domain.
    const body = decode(ctx, conn, frame);
    if (body !== undefined) await handleSync(ctx, conn, command, body);
    return;
  }
  if (command === Command.COMMAND_USER_ONLINE_STATUS_CHANGE) {
    // Written to kv for the domain's presence sweep (presence-status.ts), not forwarded.
    const body = decode(ctx, conn, frame);
    if (body !== undefined) await handleSetStatus(ctx, conn, body);
    return;
  }
  if (!FORWARDED_COMMANDS.has(command)) {
    ctx.metrics.error("unknown-command");
    sendError(conn, errorInfo("PARAMETER_ERROR", `unknown command ${command}`), command);
    return;
  }
  const body = decode(ctx, conn, frame);
  if (body !== undefined) await handleForward(ctx, conn, command, body);
}

/** The frame's body as a JSON object, or undefined after answering 9006 / 90001. */
function decode(ctx: GatewayContext, conn: Connection, frame: ClientFrame): JsonObject | undefined {
  try {
    return decodeBody(frame.command, frame.messageType, frame.body);
  } catch (error) {
    if (!isBodyError(error)) throw error;
    ctx.metrics.error(`body-${error.reason}`);
    sendError(conn, errorInfo("PARAMETER_ERROR", error.message), frame.command);
    return undefined;
  }
}
