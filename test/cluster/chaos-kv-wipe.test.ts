import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadSetup, sleep, startLoad, wipeKv } from "./support/chaos.js";
import { expectDelivered, expectStoredOnce, type Sent, stream } from "./support/stream.js";

/**
 * Issue 15 "done when", the kv part (about 20 s of load): a steady P2P load through the SDK (its
 * default resend policy) against the distributed roles (store, domain, two gateways), and in the
 * middle of it Redis loses every key of the cluster at once (wipeKv: one DEL of the cluster's
 * prefix, as a FLUSHDB or a restart without persistence would). What must hold:
 * - nothing ACKed is lost or stored twice, and each receiver's app gets every message once, in
 *   order (the SDK drops redeliveries; what the app saw is what is counted);
 * - live delivery resumes within 2 s, and what was pushed in between is not left to a catch-up:
 *   every message ACKed in the RESUME_MS after the wipe reaches its receiver's app at most
 *   RESUME_MS after its ACK or after the wipe ended, whichever is later, and all but
 *   WINDOW_CATCH_UP_SHARE of them as live pushes (Redis is "back"
 *   once the DEL is done; the scan before it takes up to half a second on a loaded machine,
 *   while the load goes on). The gateways write their sessions back within ~0.3 s
 *   (gateway/session/session-restorer.ts), and the pushes that found nobody meanwhile are kept
 *   and retried once the sessions are back (lib/push/pusher.ts). Without that retry, the messages
 *   of that second reached the app only through the catch-up that the next message's gap started
 *   (20 to 75 of about 1 000 per run, bench/RESULTS.md), and this test fails. With it, CI runs
 *   on this machine still saw 3 and 8 messages ACKed 0.3–1.1 s after the wipe reach their app by
 *   the SDK's gap fill (a newer push to the same receiver overtook the kept one's retry), on time.
 * Later messages are printed, and asserted live but for LATER_CATCH_UP_SHARE: on this shared
 * 2-core machine an overloaded cluster (sends shed with 60006, batches retried) now and then
 * answers a batch late and a receiver fills the gap by catch-up just before its push comes,
 * with or without a kv loss (17 messages of one batch, 6 s after the wipe, in a run of the code
 * before the retry at load 15).
 * A push that reached the app is told from a catch-up by the SDK's `synced` flag (sdk/events.ts).
 */

const PAIRS = 10;
/** One message per sender every EVERY_MS: PAIRS × 10 = 100 messages a second in all. */
const EVERY_MS = 100;
const WARM_MS = 5_000;
/** How long the load goes on after the wipe. */
const AFTER_MS = 10_000;
/** Live delivery must be back this long after the wipe: no message waits longer from ACK to app. */
const RESUME_MS = 2_000;
/** The share of messages ACKed after RESUME_MS that may reach the app by catch-up (see above). */
const LATER_CATCH_UP_SHARE = 0.05;
/** The share of messages ACKed within RESUME_MS that may reach the app by catch-up, on time (see above). */
const WINDOW_CATCH_UP_SHARE = 0.05;

describe("chaos: Redis loses every key under a steady load", () => {
  let load: LoadSetup;

  beforeAll(async () => {
    load = await startLoad({
      members: [
        ["store", 1],
        ["domain", 1],
        ["gateway", 1],
        ["gateway", 2],
      ],
      pairs: PAIRS,
      tag: "w",
    });
  }, 90_000);

  afterAll(async () => {
    await load?.close();
  }, 30_000);

  it("loses nothing, delivers nothing twice, and live pushes resume within 2 s", async () => {
    const { cluster, senders, receivers } = load;
    // How each receiver's app got each message: when, and whether live (the push names a device).
    const arrivals = new Map<number, { at: number; live: boolean }>();
    for (const r of receivers)
      r.client.on("message", ({ message, synced }) => {
        if (!arrivals.has(message.messageKey))
          arrivals.set(message.messageKey, { at: Date.now(), live: !synced });
      });
    let stopAt = Number.POSITIVE_INFINITY;
    const running = stream(senders, {
      rounds: 1,
      everyMs: EVERY_MS,
      tag: "wipe",
      until: () => Date.now() > stopAt,
    });
    await sleep(WARM_MS);
    const wipeAt = Date.now();
    const deleted = await wipeKv(cluster);
    const wipedAt = Date.now();
    stopAt = wipedAt + AFTER_MS;
    const sent = await running.done;

    expect(deleted).toBeGreaterThan(2 * PAIRS); // at least every device's session was there to lose
    expect(sent.every((s) => s.code === 200)).toBe(true);
    await expectStoredOnce(cluster, sent, "wipe");
    await expectDelivered(receivers, sent, "wipe");

    const after = sent.filter((s) => s.ackedAt >= wipeAt);
    const synced = after.filter((s) => arrivals.get(s.key)?.live === false);
    const inWindow = (s: Sent) => s.ackedAt < wipeAt + RESUME_MS;
    const later = after.filter((s) => !inWindow(s));
    // From its ACK, or from the end of the wipe when it was ACKed during it, to its app.
    const sinceBack = (s: Sent) => (arrivals.get(s.key)?.at ?? Number.NaN) - Math.max(s.ackedAt, wipedAt);
    const windowDelay = Math.max(...after.filter(inWindow).map(sinceBack));
    const pushes = receivers.reduce((n, r) => n + r.pushes, 0);
    // Recovery: from the wipe until every message ACKed later reached its app live.
    const lastSynced = Math.max(wipeAt, ...synced.map((s) => s.ackedAt));
    const liveFrom = synced.length === 0 ? 0 : lastSynced - wipeAt;
    console.info(
      [
        `kv wipe: ${sent.length} messages, ${deleted} keys deleted in ${wipedAt - wipeAt} ms;`,
        `${after.length} ACKed after the wipe: ${after.length - synced.length} live,`,
        `${synced.length} by catch-up${synced.length > 0 ? ` (ACKed at +${synced.map((s) => s.ackedAt - wipeAt).join(", +")} ms)` : ""};`,
        `live for every later message from +${liveFrom} ms;`,
        `largest ACK→app delay: ${windowDelay} ms in the first ${RESUME_MS} ms, ${Math.max(...later.map(sinceBack))} ms later;`,
        `${pushes} pushes (${(pushes / sent.length).toFixed(3)} per message);`,
        `ACK frames by code: ${JSON.stringify(Object.fromEntries(load.ackCodes))}`,
      ].join(" "),
    );
    const windowed = after.filter(inWindow);
    expect(windowed.length).toBeGreaterThan(0);
    const windowSynced = synced
      .filter(inWindow)
      .map((s) => `${s.messageId} ACKed at +${s.ackedAt - wipeAt} ms`);
    expect(windowSynced.length, windowSynced.join(", ")).toBeLessThanOrEqual(
      WINDOW_CATCH_UP_SHARE * windowed.length,
    );
    expect(windowDelay).toBeLessThan(RESUME_MS);
    expect(later.filter((s) => arrivals.get(s.key)?.live === false).length).toBeLessThanOrEqual(
      LATER_CATCH_UP_SHARE * later.length,
    );
    expect(pushes).toBeLessThanOrEqual(1.05 * sent.length);
  }, 120_000);
});
