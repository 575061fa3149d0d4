import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { NodeMessage } from "../../lib/push/node-publisher.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import type { GatewayContext } from "../commands/context.js";
import type { Connection } from "./connection.js";
import { type LoginMode, shouldKick } from "./multi-login.js";
import type { StoredSession } from "./session-store.js";

/** What one login did to the user's other devices. */
export interface KickOutcome {
  /** Devices sent 9002 (and, in kickMode close, closed and marked offline). */
  kicked: SessionRecord[];
  /** Older connections of the same device, closed silently (spec §4.2 step 2). */
  replaced: SessionRecord[];
  /** Nodes whose delivery queue could not be reached (the bus did not take the kick). */
  unreachable: string[];
}

/**
 * Applies the multi-login mode (spec §4.3, `gateway.loginMode`) for the login of `record` across
 * every gateway node, from the user's session hash read before the login wrote its own record.
 *
 * - A device the mode kicks gets 9002. With `gateway.kickMode: close` (default, fixes D24) its
 *   connection is then closed and its record marked offline at once (so nothing is delivered to it
 *   while its node acts); with `notify` it only gets 9002, as in the original.
 * - The same device (same clientType and imei) on an older connection is closed without 9002, as
 *   the original did locally; across nodes too, so a device that reconnected elsewhere leaves no
 *   half-open twin behind.
 * - Local connections are handled directly. Remote ones go as one DeliveryBatch per node to that
 *   node's delivery queue, each Delivery naming the exact `connection_id`, so a newer connection of
 *   the same device is never touched. Command 0 with `close_after` means "close, write nothing".
 *   They go through the push path's node publisher (lib/push/node-publisher.ts), which declares
 *   the queue, so a kick waits for a node whose queue is missing for a while; a node whose publish
 *   still fails is reported unreachable and the login goes on.
 */
export async function enforceLoginMode(
  ctx: GatewayContext,
  conn: Connection,
  record: SessionRecord,
  existing: readonly StoredSession[],
): Promise<KickOutcome> {
  const mode = ctx.config.gateway.loginMode as LoginMode;
  const close = ctx.config.gateway.kickMode === "close";
  const outcome: KickOutcome = { kicked: [], replaced: [], unreachable: [] };
  const remote = new Map<string, Delivery[]>();
  const offline: SessionRecord[] = [];

  for (const { record: other } of existing) {
    if (other.connectionId === conn.id) continue;
    const sameDevice = other.clientType === record.clientType && other.imei === record.imei;
    if (!sameDevice && !shouldKick(mode, record, other)) continue;
    (sameDevice ? outcome.replaced : outcome.kicked).push(other);
    if (!sameDevice && close) offline.push(other);
    if (other.nodeId === ctx.nodeId) {
      const target = ctx.registry.byId(other.connectionId);
      if (target === undefined || target === conn || target.state === "closed") continue;
      if (sameDevice) {
        target.close("replaced");
        continue;
      }
      target.sendKick();
      if (close) target.close("kicked");
      ctx.metrics.kicks.inc({ where: "local" });
    } else {
      const list = remote.get(other.nodeId) ?? [];
      list.push({
        appId: other.appId,
        userId: other.userId,
        clientType: other.clientType,
        imei: other.imei,
        command: sameDevice ? Command.COMMAND_UNSPECIFIED : Command.COMMAND_MUTALOGIN,
        dataJson: Buffer.alloc(0),
        closeAfter: sameDevice || close,
        connectionId: other.connectionId,
      });
      remote.set(other.nodeId, list);
      if (!sameDevice) ctx.metrics.kicks.inc({ where: "remote" });
    }
  }

  // Offline first-hand, so delivery planning stops at once; the kicked connection's own close
  // handler writes the same (both guarded by connectionId).
  await Promise.all(offline.map((r) => ctx.sessions.markOffline(r)));
  if (remote.size === 0) return outcome;
  const messages = new Map<string, NodeMessage>();
  for (const [nodeId, deliveries] of remote) {
    messages.set(nodeId, { body: DeliveryBatch.encode({ deliveries, payloads: [] }).finish() });
  }
  const failed = await ctx.pusher.nodePublisher.publish(messages);
  for (const [node, err] of failed) {
    outcome.unreachable.push(node);
    ctx.metrics.error("kick-unreachable");
    conn.log.warn({ node, err }, "multi-login: cannot reach the node of a kicked device");
  }
  return outcome;
}
