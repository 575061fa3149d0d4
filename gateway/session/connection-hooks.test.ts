import pino from "pino";
import { describe, expect, it } from "vitest";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { dueBucket, dueKey, PresenceMarks } from "../../lib/presence/presence-keys.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import type { GatewayContext } from "../commands/context.js";
import type { CloseReason } from "../transport/transport.js";
import type { Connection } from "./connection.js";
import { connectionHooks } from "./connection-hooks.js";

const NOW = 1_000_000_000_000;

/** A logged-in connection of alice and a gateway context with only what `closed` touches. */
function setup() {
  const kv = new MemoryKvStore();
  const ctx = {
    registry: { remove: () => undefined },
    metrics: { closed: () => undefined, error: () => undefined },
    sessions: { markOffline: async () => true },
    chat: { sessionClosed: async () => ({}) },
    presence: new PresenceMarks(kv, 1000, () => NOW),
  } as unknown as GatewayContext;
  const session: SessionRecord = {
    appId: 10001,
    userId: "alice",
    clientType: 3,
    imei: "phone",
    nodeId: "gw-1",
    connectionId: "c1",
    connectState: 1,
    messageType: 0,
    loginAtMs: NOW,
    lastSeenMs: NOW,
  };
  const conn = {
    session,
    transport: { kind: "tcp" },
    log: pino({ level: "silent" }),
  } as unknown as Connection;
  return { kv, ctx, conn };
}

describe("connection hooks: presence", () => {
  it.each<CloseReason>([
    "logout",
    "kicked",
    "replaced",
    "heartbeat-timeout",
    "client-closed",
    "server-stopping",
  ])("marks the user for the presence sweep when a session ends (%s)", async (reason) => {
    const { kv, ctx, conn } = setup();
    const pending = new Set<Promise<unknown>>();
    connectionHooks(ctx, pending).closed(conn, reason);
    await Promise.all([...pending]);
    expect(Object.keys(await kv.hgetall(dueKey(dueBucket(NOW + 1000))))).toEqual(["10001:alice"]);
    await kv.close();
  });
});
