import type { Logger } from "pino";
import type { KvStore } from "../../lib/ports/kv.js";
import type { LocalRegistry } from "./local-registry.js";
import type { SessionStore } from "./session-store.js";

/** How often a gateway checks that kv still holds its sessions, ms. */
export const RESTORE_CHECK_EVERY_MS = 1_000;
/** How long the marker lives (see {@link nodeMarkerKey}). */
export const MARKER_TTL_MS = 6 * 3_600_000;
/** Session records rewritten at once while restoring (one kv batch each), so the loop yields. */
const RESTORE_CHUNK = 500;

/**
 * The kv key a gateway keeps while kv holds its sessions: written at start and after every
 * restore, so its absence means kv lost data (a flush, a restart without persistence, a failover
 * to an empty replica). It expires after {@link MARKER_TTL_MS} so that crashed gateways leave
 * nothing behind for long; the expiry costs a live gateway one needless rewrite of its sessions
 * that often.
 */
export function nodeMarkerKey(nodeId: string): string {
  return `gw:marker:${nodeId}`;
}

/** Writes the marker of `nodeId` (at start, and after a restore). */
export async function markAlive(kv: KvStore, nodeId: string): Promise<void> {
  await kv.set(nodeMarkerKey(nodeId), String(Date.now()), { ttlMs: MARKER_TTL_MS });
}

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
 * fill found them. Once a second the gateway reads its marker ({@link nodeMarkerKey}); when it is
 * missing, every logged-in connection's record is written again (renewed: lastSeenMs now), in
 * chunks, and the marker last, so a failure half-way is retried at the next check.
 */
export function startSessionRestorer(opts: {
  kv: KvStore;
  registry: LocalRegistry;
  sessions: SessionStore;
  nodeId: string;
  logger: Logger;
  everyMs?: number;
}): SessionRestorer {
  const marker = nodeMarkerKey(opts.nodeId);
  let running: Promise<number> | undefined;

  const restore = async (): Promise<number> => {
    if ((await opts.kv.get(marker)) !== null) return 0;
    const live = opts.registry.all().filter((c) => c.state === "logged-in" && c.session !== undefined);
    let written = 0;
    for (let i = 0; i < live.length; i += RESTORE_CHUNK) {
      await Promise.all(
        live.slice(i, i + RESTORE_CHUNK).map(async (conn) => {
          const s = conn.session;
          if (s === undefined) return;
          const renewed = await opts.sessions.renew(s);
          if (conn.state === "logged-in") conn.session = renewed;
          written++;
        }),
      );
    }
    await markAlive(opts.kv, opts.nodeId);
    return written;
  };

  const check = (): Promise<number> => {
    running ??= restore().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    check().then(
      (written) => {
        if (written > 0)
          opts.logger.warn({ sessions: written }, "kv had lost this gateway's sessions: written back");
      },
      (err: unknown) => opts.logger.warn({ err }, "session restore check failed; retrying"),
    );
  }, opts.everyMs ?? RESTORE_CHECK_EVERY_MS);
  timer.unref();
  return {
    check,
    stop: () => {
      clearInterval(timer);
      void opts.kv.del(marker).catch(() => undefined); // a stopped gateway has no sessions to keep
    },
  };
}
