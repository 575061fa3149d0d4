import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ackLatency,
  type LoadSetup,
  latencyWindows,
  quantile,
  RECOVER_WITHIN_MS,
  recoveredBound,
  recoveredAt as recoveredFrom,
  showWindows,
  sleep,
  startLoad,
} from "./support/chaos.js";
import { expectDelivered, expectStoredOnce, type Sent, stream } from "./support/stream.js";

/**
 * Issue 15 "done when", the domain part (about 30 s of load): a steady P2P load through the SDK
 * (its default resend policy, as real clients have it) against the distributed roles (store,
 * domain, gateway as processes on PostgreSQL, Redis, RabbitMQ); the domain is SIGKILLed in the
 * middle of it and restarted after OUTAGE_MS. Asserted: every send is ACKed in the end and
 * nothing ACKed is lost or stored twice; each receiver gets every message once, in order (late
 * ones flagged); the receivers got at most 1.05 pushes per message (resends are joined or
 * answered from the gateway's memory, not pushed again; what is left are the domain's own replays
 * of messages the killed domain had accepted and pushed but not answered, about as many as it
 * held at the kill, hence the long steady phases); and the ACK latency recovers: the sends
 * started from RECOVER_WITHIN_MS (5 s) after the restarted domain is registered have p99 ACK under
 * 100 ms, or under three times the same run's p99 before the kill when the machine is too busy
 * for 100 ms even without a fault (support/chaos.ts recoveredBound); and the last seconds of the
 * load are answered far faster than the sends caught by the outage. The recovery time (from the
 * restarted domain being registered until every later one-second window has p99 < 100 ms) is
 * printed. This file runs in the "timed" project (vitest.config.ts), after the rest of the suite.
 */

const PAIRS = 10;
/** One message per sender every EVERY_MS: PAIRS × 10 = 100 messages a second in all. */
const EVERY_MS = 100;
const WARM_MS = 6_000;
const OUTAGE_MS = 3_000;
/** How long the load goes on after the restarted domain registered. */
const AFTER_MS = 14_000;
/** The last part of the load whose ACK latency must have recovered. */
const TAIL_MS = 3_000;

describe("chaos: the domain SIGKILLed and restarted under a steady load", () => {
  let load: LoadSetup;

  beforeAll(async () => {
    load = await startLoad({
      members: [
        ["store", 1],
        ["domain", 1],
        ["gateway", 1],
      ],
      pairs: PAIRS,
      tag: "c",
    });
  }, 90_000);

  afterAll(async () => {
    await load?.close();
  }, 30_000);

  it("loses nothing ACKed, pushes each message about once, and the ACK latency recovers", async () => {
    const { cluster, senders, receivers, ackCodes: answers } = load;
    let stopAt = Number.POSITIVE_INFINITY;
    const running = stream(senders, {
      rounds: 1,
      everyMs: EVERY_MS,
      tag: "chaos",
      until: () => Date.now() > stopAt,
    });
    await sleep(WARM_MS);
    const killedAt = Date.now();
    await cluster.kill("domain-1");
    await sleep(OUTAGE_MS);
    const restartAt = Date.now();
    await cluster.start("domain", 1); // resolves once it is registered: listening
    const listeningAt = Date.now();
    stopAt = listeningAt + AFTER_MS;
    const sent = await running.done;
    const endAt = Math.max(...sent.map((s) => s.startedAt));

    // Nothing ACKed lost or stored twice; every receiver got its messages once, in order.
    expect(sent.every((s) => s.code === 200)).toBe(true);
    await expectStoredOnce(cluster, sent, "chaos");
    const late = await expectDelivered(receivers, sent, "chaos");

    const pushes = receivers.reduce((n, r) => n + r.pushes, 0);
    const writes = senders.reduce((n, s) => n + s.device.sendWrites, 0);
    const latency = (list: Sent[]) => list.map(ackLatency);
    const caught = sent.filter((s) => s.startedAt >= killedAt && s.startedAt < listeningAt);
    const tail = sent.filter((s) => s.startedAt > endAt - TAIL_MS);
    const settled = latency(sent.filter((s) => s.startedAt >= listeningAt + RECOVER_WITHIN_MS));
    const { bound, baselineP99 } = recoveredBound(sent, killedAt);
    const [caughtP50, tailP50, tailP99] = [
      quantile(latency(caught), 0.5),
      quantile(latency(tail), 0.5),
      quantile(latency(tail), 0.99),
    ];
    // Measured, not asserted: when p99 came back under 100 ms for good, per one-second window.
    const windows = latencyWindows(sent, listeningAt, endAt);
    const recoveredAt = recoveredFrom(windows);
    const firstAckAfterKill = Math.min(
      ...sent.filter((s) => s.ackedAt > killedAt + 50).map((s) => s.ackedAt),
    );
    console.info(
      [
        `chaos: ${sent.length} messages, ${writes} send frames written (${(writes / sent.length).toFixed(3)} per message),`,
        `${pushes} pushes (${(pushes / sent.length).toFixed(3)} per message), ${late} delivered flagged late;`,
        `domain down ${restartAt - killedAt} ms + ${listeningAt - restartAt} ms to register;`,
        `first ACK ${firstAckAfterKill - killedAt} ms after the kill (${firstAckAfterKill - listeningAt} ms after registering);`,
        `sends caught by the outage: ${caught.length}, p50 ${caughtP50} ms;`,
        `tail p50 ${tailP50} ms, p99 ${tailP99} ms;`,
        `before the kill p99 ${baselineP99} ms; from ${RECOVER_WITHIN_MS} ms after registering: ${settled.length} sends,`,
        `p99 ${quantile(settled, 0.99)} ms (bound ${bound} ms);`,
        recoveredAt === undefined
          ? "p99 < 100 ms not reached for good before the load ended"
          : `p99 < 100 ms for good from ${recoveredAt - listeningAt} ms after registering`,
        `(windows p50/p99: ${showWindows(windows)});`,
        `ACK frames by code: ${JSON.stringify(Object.fromEntries(answers))}`,
      ].join(" "),
    );

    // Retries never doubled the work: at most 1.05 pushes per message. The lower bound only shows
    // the pushes are counted: every message reached its receiver's app (expectDelivered above),
    // but on a loaded machine a few reach it by the SDK's gap fill instead of a push (a push that
    // found the receiver's session past its online window, or a message the killed domain had
    // accepted and not pushed yet), and a catch-up is not a push.
    expect(pushes).toBeGreaterThanOrEqual(0.95 * sent.length);
    expect(pushes).toBeLessThanOrEqual(1.05 * sent.length);
    // The latency recovered: the tail of the load is answered far faster than the outage's sends.
    expect(caught.length).toBeGreaterThan(0);
    expect(tail.length).toBeGreaterThan(0);
    expect(tailP50).toBeLessThan(caughtP50 / 4);
    expect(tailP50).toBeLessThan(1_000);
    // Back to normal within 5 s of the domain listening again (the p99 < 100 ms).
    expect(settled.length).toBeGreaterThan(0);
    expect(quantile(settled, 0.99)).toBeLessThan(bound);
  }, 120_000);
});
