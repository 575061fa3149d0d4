import { SessionCloseReason } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import type { GatewayContext } from "../commands/context.js";
import { handleFrame } from "../commands/dispatch.js";
import { markPresence } from "../commands/login.js";
import type { CloseReason } from "../transport/transport.js";
import type { Connection, ConnectionHooks, FrameLane } from "./connection.js";

/**
 * The lane of a frame (connection.ts): state changes are barriers, sends are bounded by the send
 * window, everything else (PING, receipts, read marks, sync, recall) runs beside them.
 */
export function frameLane(conn: Connection, command: number): FrameLane {
  if (conn.state !== "logged-in" || command === Command.COMMAND_LOGIN || command === Command.COMMAND_LOGOUT) {
    return "barrier";
  }
  return command === Command.COMMAND_MSG_P2P || command === Command.COMMAND_MSG_GROUP ? "send" : "other";
}

/** The reason the domain is told for each close (chat_service.proto SessionCloseReason). */
function sessionCloseReason(reason: CloseReason): SessionCloseReason {
  switch (reason) {
    case "logout":
      return SessionCloseReason.SESSION_CLOSE_REASON_LOGOUT;
    case "kicked":
    case "replaced":
      return SessionCloseReason.SESSION_CLOSE_REASON_KICKED;
    case "heartbeat-timeout":
      return SessionCloseReason.SESSION_CLOSE_REASON_TIMEOUT;
    default:
      return SessionCloseReason.SESSION_CLOSE_REASON_DISCONNECT;
  }
}

/**
 * The gateway's reactions to connection events. `pending` collects the session writes that a
 * close starts, so a stopping gateway can wait for them before its kv goes away.
 *
 * On close (spec §4.4): the connection leaves the local registry; a logged-in device's record is
 * marked offline (connectState 2, kept) unless it logged out (already deleted) or was replaced by
 * a newer connection of the same device (whose record it must not touch); the domain is told
 * (ChatService.SessionClosed, best effort: a domain that is down changes nothing here).
 */
export function connectionHooks(ctx: GatewayContext, pending: Set<Promise<unknown>>): ConnectionHooks {
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  return {
    handle: (conn, frame) => handleFrame(ctx, conn, frame),
    lane: (conn, frame) => frameLane(conn, frame.command),
    frameError(conn, error) {
      ctx.metrics.error(`frame-${error.reason}`);
      conn.log.info({ reason: error.reason, detail: error.message }, "malformed frame, closing");
    },
    sent(conn, command) {
      ctx.metrics.frameOut(conn.transport.kind, command);
    },
    closed(conn: Connection, reason: CloseReason) {
      ctx.registry.remove(conn);
      const s = conn.session;
      ctx.metrics.closed(conn.transport.kind, s?.clientType, reason);
      conn.log.debug({ reason }, "connection closed");
      if (s === undefined) return;
      if (reason !== "logout" && reason !== "replaced") {
        track(
          ctx.sessions.markOffline(s).catch((err: unknown) => {
            ctx.metrics.error("session-write-failed");
            conn.log.warn({ err }, "cannot mark the session offline");
          }),
        );
      }
      // Every end of a session (logout, kick, replaced, heartbeat timeout, disconnect) may change
      // the user's online status; the domain's presence sweep re-reads the sessions (lib/presence).
      track(markPresence(ctx, conn, s));
      const session = {
        appId: s.appId,
        userId: s.userId,
        clientType: s.clientType,
        imei: s.imei,
        gatewayNodeId: s.nodeId,
        connectionId: s.connectionId,
      };
      track(
        ctx.chat
          .sessionClosed({ session, reason: sessionCloseReason(reason) })
          .catch((err: unknown) => conn.log.debug({ err }, "SessionClosed not delivered to the domain")),
      );
    },
  };
}
