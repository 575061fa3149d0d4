import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { LoginAckPack } from "../../gen/ts/whaleshark/v1/envelope.js";
import { verifyUserSign } from "../../lib/auth/index.js";
import { ImError } from "../../lib/errors/index.js";
import { longerThan, textFault } from "../../lib/grpc/text-check.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import type { ClientFrame, JsonObject } from "../../lib/wire/index.js";
import type { Connection } from "../session/connection.js";
import { enforceLoginMode } from "../session/kick.js";
import type { StoredSession } from "../session/session-store.js";
import type { GatewayContext } from "./context.js";
import { errorInfoOf, sendError } from "./error-frame.js";

/**
 * Longest accepted userId, in characters as PostgreSQL counts them: the user id columns are
 * VARCHAR(50), so a longer id could log in and then have every send refused.
 */
const MAX_USER_ID_CHARS = 50;
/** ClientType values of spec §4.1 (0 WEBAPI … 5 MAC); others are refused (they also label metrics). */
const MAX_CLIENT_TYPE = 5;

/** Reads the state without TypeScript's narrowing (it changes across awaits). */
const isClosed = (conn: Connection): boolean => conn.state === "closed";

/**
 * Checks the LOGIN body and the app; returns the user id or throws an ImError (600xx / 90001).
 * With `auth.login: sign` the token must verify (lib/auth/user-sign.ts: 60003 also for one issued
 * more than `auth.maxClockSkewMs` ahead) and must not predate the user's revocation cut-off
 * (60004, lib/auth/token-revocations.ts: one kv read).
 */
async function authenticate(ctx: GatewayContext, frame: ClientFrame, body: JsonObject): Promise<string> {
  const rawUserId = body.userId;
  // fastjson's getString accepted a number too; the demo clients send a string.
  const userId = typeof rawUserId === "number" ? String(rawUserId) : rawUserId;
  if (typeof userId !== "string" || userId === "")
    throw ImError.of("OPERATER_NOT_EXIST", "LOGIN needs a userId");
  // What the store could not keep is refused here, not at the device's first send (issue 13).
  if (longerThan(userId, MAX_USER_ID_CHARS)) {
    throw ImError.of("PARAMETER_ERROR", `userId is longer than ${MAX_USER_ID_CHARS} characters`);
  }
  for (const [field, value] of [
    ["userId", userId],
    ["imei", frame.imei],
  ] as const) {
    const fault = textFault(value);
    if (fault !== undefined) throw ImError.of("PARAMETER_ERROR", `${field} ${fault}`);
  }
  if (!Number.isInteger(frame.clientType) || frame.clientType < 0 || frame.clientType > MAX_CLIENT_TYPE) {
    throw ImError.of("PARAMETER_ERROR", `unknown clientType ${frame.clientType}`);
  }
  const app = ctx.config.apps[String(frame.appId)];
  if (app === undefined) throw ImError.of("APPID_NOT_EXIST", String(frame.appId));
  if (ctx.config.auth.login === "sign") {
    const token = body.userSign;
    if (typeof token !== "string" || token === "") throw ImError.of("USERSIGN_NOT_EXIST");
    const { issuedAt } = verifyUserSign({
      token,
      appId: frame.appId,
      identifier: userId,
      privateKey: app.privateKey,
      maxClockSkewMs: ctx.config.auth.maxClockSkewMs,
    });
    await ctx.revocations.check(frame.appId, userId, issuedAt);
  }
  return userId;
}

/**
 * LOGIN 9000 (spec §4.2, fixes D26 and D24). Verifies `{userId, userSign}` (`auth.login: sign`,
 * also against clock skew and revocation; `open` trusts `{userId}`), then, in this order:
 * 1. reads the user's online devices from the session hash (every node's);
 * 2. writes this device's record (nodeId, connectionId, connectState 1, TTL);
 * 3. binds the connection locally (an older local connection of the same device is closed);
 * 4. applies the multi-login mode to the devices read in 1 (see enforceLoginMode);
 * 5. answers LOGIN_ACK 9001 with LoginAckPack.
 * A refusal answers 9006 with the 600xx (or 90001) code and closes the connection. A second LOGIN
 * on a logged-in connection is refused with 90001 and the connection kept.
 */
export async function handleLogin(
  ctx: GatewayContext,
  conn: Connection,
  frame: ClientFrame,
  body: JsonObject,
): Promise<void> {
  if (conn.state === "logged-in") {
    ctx.metrics.error("login-repeated");
    sendError(conn, errorInfoOf(ImError.of("PARAMETER_ERROR", "already logged in")), frame.command);
    return;
  }
  const now = Date.now();
  let record: SessionRecord;
  let existing: StoredSession[];
  try {
    const userId = await authenticate(ctx, frame, body);
    record = {
      appId: frame.appId,
      userId,
      clientType: frame.clientType,
      imei: frame.imei,
      nodeId: ctx.nodeId,
      connectionId: conn.id,
      connectState: 1,
      messageType: frame.messageType,
      loginAtMs: now,
      lastSeenMs: now,
    };
    existing = await ctx.sessions.onlineDevices(record.appId, userId);
    await ctx.sessions.put(record);
  } catch (error) {
    const info = errorInfoOf(error);
    ctx.metrics.logins.inc({ transport: conn.transport.kind, result: String(info.code) });
    ctx.metrics.error("login-failed");
    conn.log.info({ code: info.code, reason: info.msg }, "login refused");
    sendError(conn, info, frame.command);
    conn.close("login-failed");
    return;
  }
  if (isClosed(conn)) {
    // The client left while kv was written: leave no online record behind.
    await ctx.sessions.markOffline(record);
    return;
  }
  conn.state = "logged-in";
  conn.session = record;
  conn.encoding = frame.messageType;
  conn.log = conn.log.child({
    appId: record.appId,
    userId: record.userId,
    clientType: record.clientType,
    imei: record.imei,
  });
  ctx.registry.bind(conn, record)?.close("replaced");
  ctx.metrics.loggedIn(conn.transport.kind, record.clientType);
  markPresence(ctx, conn, record);
  try {
    const outcome = await enforceLoginMode(ctx, conn, record, existing);
    conn.log.info(
      { kicked: outcome.kicked.length, replaced: outcome.replaced.length, messageType: frame.messageType },
      "logged in",
    );
  } catch (err) {
    // kv or bus trouble while kicking: the login itself stands.
    ctx.metrics.error("kick-failed");
    conn.log.warn({ err }, "multi-login enforcement failed");
  }
  const ack: LoginAckPack = {
    appId: record.appId,
    clientType: record.clientType,
    heartbeatIntervalMs: ctx.config.gateway.heartbeatTimeoutMs,
    imei: record.imei,
    serverTime: now,
    userId: record.userId,
  };
  conn.sendData(Command.COMMAND_LOGIN_ACK, LoginAckPack.toJSON(ack) as object);
}

/** Tells presence (lib/presence) the user's devices changed; best effort, logged. */
export function markPresence(ctx: GatewayContext, conn: Connection, s: SessionRecord): Promise<void> {
  if (ctx.presence === undefined) return Promise.resolve();
  return ctx.presence.changed(s.appId, s.userId).catch((err: unknown) => {
    ctx.metrics.error("presence-mark-failed");
    conn.log.warn({ err }, "cannot mark the user's presence");
  });
}
