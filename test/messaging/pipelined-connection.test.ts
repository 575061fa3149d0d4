import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateUserSign } from "../../lib/auth/index.js";
import { RawClient, type RawServerFrame } from "../gateway/support/raw-client.js";
import { APP, APP_KEY, type Cluster, startCluster } from "./support/cluster.js";

/**
 * One connection with many sends in flight (issue 12 item 2), on the distributed adapters
 * (Redis, RabbitMQ with publisher confirms, PostgreSQL): 2,000 P2P sends to 20 conversations,
 * written as fast as a window of 256 unanswered sends allows. Every send is ACKed, and each
 * conversation's sequences increase in the order its frames were written: the gateway keeps the
 * frame order per conversation (send-batcher.ts) and the domain sequences in arrival order
 * (arrival-order.ts). A raw client so the test decides exactly what is in flight.
 *
 * Frames other than sends never wait behind them: a sync request (9007, answered by the store)
 * written behind 256 unanswered sends is answered before those 256 are all ACKed. PING would be
 * the obvious probe but the protocol gives it no answer (spec §4.5); the connection's unit tests
 * show it starts at once behind a full window.
 */

const TOTAL = 2_000;
const WINDOW = 256;
const CONVERSATIONS = 20;
const SENDER = "pipe-sender";
const receivers = Array.from({ length: CONVERSATIONS }, (_, i) => `pipe-r${i}`);

describe("one connection with 256 sends in flight", () => {
  let cluster: Cluster;
  let client: RawClient;

  beforeAll(async () => {
    // Raw pipelining throughput, not the send rates (send-rate.ts) nor load shedding (send-load.ts):
    // lifted (this raw client does not resend what is refused).
    cluster = await startCluster({
      overrides: {
        gateway: { sendRatePerConnection: 0, sendRatePerUser: 0, shedSendsAfterMs: 0, shedSendsAtDepth: 0 },
      },
    });
    await cluster.users([SENDER, ...receivers]);
    await cluster.friends([SENDER, ...receivers]);
    client = await RawClient.tcp(cluster.endpoint(0, "tcp").port);
    const userSign = generateUserSign({
      appId: APP,
      identifier: SENDER,
      privateKey: APP_KEY,
      expireSeconds: 3600,
    });
    client.send({ command: 9000, appId: APP, body: { userId: SENDER, userSign } });
    expect((await client.next()).command).toBe(9001);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await cluster?.close();
  });

  it("ACKs every send, sequences each conversation in frame order, answers a sync behind a full window", async () => {
    const sendFrame = (i: number) => ({
      command: 1103,
      appId: APP,
      body: {
        fromId: SENDER,
        toId: receivers[i % CONVERSATIONS],
        messageId: `pipe-${i}`,
        messageBody: `{"n":${i}}`,
        messageTime: Date.now(),
      },
    });
    const acks = new Map<string, RawServerFrame>();
    let syncAnsweredAfterAcks: number | undefined;
    let written = 0;
    // The first window, then the probe right behind it.
    for (; written < WINDOW; written++) client.send(sendFrame(written));
    client.send({ command: 9007, appId: APP, body: { lastMessageKey: 0, maxLimit: 1 } });
    while (acks.size < TOTAL) {
      const frame = await client.next(30_000);
      if (frame.command === 9008) {
        syncAnsweredAfterAcks = acks.size;
        continue;
      }
      if (frame.command === 1107) continue; // "stored, receiver offline" (serverSend), spec §5.6
      expect(frame.command, frame.text).toBe(1046);
      const ack = frame.json as { code: number; data: { messageId: string; messageSequence: number } };
      expect(ack.code, frame.text).toBe(200);
      expect(acks.has(ack.data.messageId)).toBe(false);
      acks.set(ack.data.messageId, frame);
      // Keep the window full.
      if (written < TOTAL) client.send(sendFrame(written++));
    }
    // The probe's answer came before the window it was written behind was all ACKed.
    expect(syncAnsweredAfterAcks).toBeDefined();
    expect(syncAnsweredAfterAcks as number).toBeLessThan(WINDOW);

    for (let c = 0; c < CONVERSATIONS; c++) {
      const sequences: number[] = [];
      for (let i = c; i < TOTAL; i += CONVERSATIONS) {
        const ack = acks.get(`pipe-${i}`)?.json as { data: { messageSequence: number } };
        sequences.push(ack.data.messageSequence);
      }
      const sorted = [...sequences].sort((a, b) => a - b);
      expect(sequences, `conversation ${c}`).toEqual(sorted);
      expect(new Set(sequences).size).toBe(sequences.length);
    }
  }, 120_000);
});
