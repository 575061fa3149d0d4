import type { Logger } from "pino";
import type { KvStore } from "../../lib/ports/kv.js";
import type { PresenceMarks } from "../../lib/presence/presence-keys.js";
import { createKvEpoch, KV_EPOCH_KEY, KvEpochWatch } from "../../lib/push/kv-epoch.js";
import type { LocalRegistry } from "./local-registry.js";
import type { SessionStore } from "./session-store.js";

/**
 * How often a gateway checks that kv still holds its sessions, ms: one GET, so often enough that
 * live pushes resume well within 2 s of a kv loss also on a loaded machine (issue 15).
 */
export const RESTORE_CHECK_EVERY_MS = 250;
/** Session records rewritten at once while restoring (one kv batch each), so the loop yields. */
const RESTORE_CHUNK = 500;

/** A running restorer. */
export interface SessionRestorer {
  /** Checks now (tests); resolves with the sessions written back (0 when kv still had them). */
  check(): Promise<number>;
  stop(): void;
}

/**
 * Writes this gateway's sessions back as soon as kv has lost them (issue 15 item 2). Without it,
 * each connection's record came back only at its next renewal (45 s by default), and until then
 * the push path found the devices offline: ACKed messages reached them only when a later gap
 * fill found them. Every {@link RESTORE_CHECK_EVERY_MS} the gateway reads the kv epoch (lib/push/kv-epoch.ts, the one
 * signal of a kv loss that the send dedupe and the push path also read); when it is missing or
 * changed since the last read, every logged-in connection's record is written again (renewed:
 * lastSeenMs now), in chunks. A restore that fails half-way is owed and done again at the next
 * check. The push path keeps the pushes that found nobody meanwhile and sends them once these
 * records are back (lib/push/pusher.ts).
 *
 * Resolves after the first read of the epoch (creating it when missing), so that every session
 * this gateway writes afterwards is covered: a loss after it changes what that read saw.
 */
export async function startSessionRestorer(opts: {
  kv: KvStore;
  registry: LocalRegistry;
  sessions: SessionStore;
  nodeId: string;
  logger: Logger;
  everyMs?: number;
  /**
   * Online status (lib/presence): told of each session written back, so the domain watches its
   * staleness again (the loss took the marks) without announcing the device online a second time.
   */
  presence?: Pick<PresenceMarks, "restored">;
}): Promise<SessionRestorer> {
  const watch = new KvEpochWatch();
  /** A loss was seen and the sessions not yet all written back. */
  let owed = false;
  let running: Promise<number> | undefined;

  const restore = async (): Promise<number> => {
    const epoch = await opts.kv.get(KV_EPOCH_KEY);
    if (watch.observe(epoch)) owed = true;
    // Re-created when missing, and that value remembered, so the next loss is a change from it.
    if (epoch === null) watch.observe(await createKvEpoch(opts.kv, Date.now()));
    if (!owed) return 0;
    const live = opts.registry.all().filter((c) => c.state === "logged-in" && c.session !== undefined);
    let written = 0;
    for (let i = 0; i < live.length; i += RESTORE_CHUNK) {
      await Promise.all(
        live.slice(i, i + RESTORE_CHUNK).map(async (conn) => {
          const s = conn.session;
          if (s === undefined) return;
          const renewed = await opts.sessions.renew(s);
          if (conn.state === "logged-in") conn.session = renewed;
          await opts.presence?.restored(s.appId, s.userId, s.clientType, s.imei);
          written++;
        }),
      );
    }
    owed = false;
    return written;
  };

  const check = (): Promise<number> => {
    running ??= restore().finally(() => {
      running = undefined;
    });
    return running;
  };

  await check(); // the first read: never a loss (no session of this gateway is in kv yet)
  const timer = setInterval(() => {
    check().then(
      (written) => {
        if (written > 0)
          opts.logger.warn(
            { sessions: written, nodeId: opts.nodeId },
            "kv had lost this gateway's sessions: written back",
          );
      },
      (err: unknown) => opts.logger.warn({ err }, "session restore check failed; retrying"),
    );
  }, opts.everyMs ?? RESTORE_CHECK_EVERY_MS);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
