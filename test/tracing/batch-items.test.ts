import { trace } from "@opentelemetry/api";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcChatCalls } from "../../gateway/commands/chat-client.js";
import {
  type ChatServiceSendItem,
  type ChatServiceSendMessagesResponse,
  ChatServiceService,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { InternalAuthenticator } from "../../lib/grpc/auth.js";
import { InProcessServices } from "../../lib/grpc/in-process.js";
import { serveInternal } from "../../lib/grpc/serve.js";
import type { BusMessage } from "../../lib/ports/bus.js";
import { Pusher } from "../../lib/push/pusher.js";
import { declareStoreQueues, STORE_QUEUES } from "../../lib/queues/store-queues.js";
import {
  DELIVERY_QUEUE_OPTIONS,
  deliveryQueue,
  encodeSession,
  type SessionRecord,
  sessionField,
  sessionKey,
} from "../../lib/sessions/session-record.js";
import {
  IncomingTrace,
  rememberTrace,
  startTracing,
  type TracingHandle,
  traceGatewaySend,
} from "../../lib/tracing/index.js";
import { OtlpReceiver } from "../../lib/tracing/otlp-receiver.js";
import { StoreJobPublisher } from "../../services/domain/messaging/store-jobs.js";

/**
 * Every hop batches, and a batch holds items of different messages, so of different traces
 * (docs/tracing.md "Batches"). Each item must reach the next hop under its own message's span,
 * not under whichever message happened to start the batch:
 * - a ChatService.SendMessages call: the gateway's client (gateway/commands/chat-client.ts)
 *   carries each item's context and the domain's edge (lib/grpc/serve.ts) hands item i the
 *   context of send i (through the in-process path, which passes the metadata as the network does);
 * - a bus message of several persistence jobs (services/domain/messaging/store-jobs.ts);
 * - a DeliveryBatch of several messages for one gateway node (lib/push/pusher.ts).
 */

const logger = pino({ level: "silent" });
const SECRET = "a-test-internal-secret-of-some-length";

/** Runs `n` sibling spans (each its own trace) and `work(i)` inside span i, started in one turn. */
async function inSpans<T>(
  n: number,
  work: (i: number) => Promise<T>,
): Promise<Array<{ traceId: string; spanId: string }>> {
  const ids: Array<{ traceId: string; spanId: string }> = [];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      traceGatewaySend(Command.COMMAND_MSG_P2P, 10001, false, async () => {
        const sc = trace.getActiveSpan()?.spanContext();
        ids[i] = { traceId: sc?.traceId ?? "", spanId: sc?.spanId ?? "" };
        await work(i);
        return { code: 0 };
      }),
    ),
  );
  return ids;
}

/** The parent span of each item of a received bus message, as the consumers read it. */
function parentsOf(msg: BusMessage, count: number): Array<{ traceId?: string; spanId?: string }> {
  const incoming = new IncomingTrace((name) => msg.headers[name]);
  return Array.from({ length: count }, (_, i) => {
    const sc = trace.getSpanContext(incoming.item(i));
    return { traceId: sc?.traceId, spanId: sc?.spanId };
  });
}

/** The first message `queue` receives. */
async function firstMessage(bus: MemoryBus, queue: string): Promise<BusMessage> {
  let consumer: Awaited<ReturnType<MemoryBus["consume"]>> | undefined;
  const msg = await new Promise<BusMessage>((resolve, reject) => {
    bus
      .consume(queue, async (m) => resolve(m))
      .then((c) => {
        consumer = c;
      }, reject);
  });
  await consumer?.stop();
  return msg;
}

describe("tracing: a batch's items keep their own traces", () => {
  let receiver: OtlpReceiver;
  let tracing: TracingHandle;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    tracing = await startTracing(
      { nodeId: "n1", tracing: { enabled: true, otlpEndpoint: receiver.url, sampleRatio: 1 } },
      ["gateway", "domain"],
      logger,
    );
  });

  afterAll(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  it("item i reaches the domain under send i's span", async () => {
    const seen: Array<{ traceId?: string; spanId?: string }> = [];
    const inProcess = new InProcessServices();
    inProcess.register([
      {
        name: "whaleshark.v1.ChatService",
        definition: ChatServiceService,
        handlers: serveInternal(
          "ChatService",
          ChatServiceService,
          {
            sendMessages: async (req, ctx) => {
              req.items.forEach((_, i) => {
                const parent = ctx.trace === undefined ? undefined : trace.getSpanContext(ctx.trace.item(i));
                seen.push({ traceId: parent?.traceId, spanId: parent?.spanId });
              });
              return { results: req.items.map(() => ({ code: 0, msg: "" })) };
            },
          },
          { auth: new InternalAuthenticator(SECRET), logger },
        ),
      },
    ]);
    const chat = new GrpcChatCalls("127.0.0.1:1", SECRET, 3000, inProcess);

    // Three sends queued the way forward.ts queues them, each in its own gateway.send span; the
    // batch goes out later, from outside all of them (send-batcher.ts dispatches on setImmediate).
    const session = {
      appId: 10001,
      userId: "u",
      clientType: 3,
      imei: "i",
      gatewayNodeId: "g",
      connectionId: "c",
    };
    const items: ChatServiceSendItem[] = [];
    const spans: Array<{ traceId: string; spanId: string }> = [];
    let answer: (r: ChatServiceSendMessagesResponse) => void = () => undefined;
    const answered = new Promise<ChatServiceSendMessagesResponse>((resolve) => {
      answer = resolve;
    });
    const sends = [0, 1, 2].map((n) =>
      traceGatewaySend(Command.COMMAND_MSG_P2P, 10001, false, async () => {
        const item: ChatServiceSendItem = { session, p2p: undefined };
        rememberTrace(item);
        items.push(item);
        const sc = trace.getActiveSpan()?.spanContext();
        spans[n] = { traceId: sc?.traceId ?? "", spanId: sc?.spanId ?? "" };
        const response = await answered;
        return response.results[n] ?? { code: 0, msg: "" };
      }),
    );
    const response = await new Promise<ChatServiceSendMessagesResponse>((resolve, reject) => {
      setImmediate(() => chat.sendMessages({ items }).then(resolve, reject));
    });
    answer(response);
    await Promise.all(sends);
    chat.close();

    expect(new Set(spans.map((s) => s.traceId)).size).toBe(3);
    expect(seen).toEqual(spans);
  });

  it("a bus message of several persistence jobs carries each job's send", async () => {
    const bus = new MemoryBus();
    const jobs = new StoreJobPublisher(bus);
    const message = (n: number) => ({
      conversationType: 0 as const,
      appId: 10001,
      fromId: `from-${n}`,
      toId: "to",
      messageId: `m-${n}`,
      messageBody: "b",
      messageTime: 1,
      extra: "",
      messageKey: 1000 + n,
      messageSequence: n + 1,
      acceptedTime: 1,
    });
    await declareStoreQueues(bus);
    const received = firstMessage(bus, STORE_QUEUES.p2p);
    const spans = await inSpans(3, (i) => jobs.publish(message(i)));
    const msg = await received;
    expect(msg.headers.jobs).toBe("batch"); // the three jobs went out as one bus message
    expect(parentsOf(msg, 3)).toEqual(spans);
    await bus.close();
  });

  it("a DeliveryBatch of several messages for one node carries each message's send per payload", async () => {
    const kv = new MemoryKvStore();
    const bus = new MemoryBus();
    const now = Date.now();
    for (const userId of ["u0", "u1", "u2"]) {
      const record: SessionRecord = {
        appId: 10001,
        userId,
        clientType: 3,
        imei: `${userId}-phone`,
        nodeId: "node-a",
        connectionId: `c-${userId}`,
        connectState: 1,
        messageType: 0,
        loginAtMs: now,
        lastSeenMs: now,
      };
      await kv.hset(sessionKey(10001, userId), { [sessionField(3, record.imei)]: encodeSession(record) });
    }
    const pusher = new Pusher({ kv, bus, logger, sessionTtlMs: 60_000 });
    await bus.declareQueue(deliveryQueue("node-a"), DELIVERY_QUEUE_OPTIONS);
    const received = firstMessage(bus, deliveryQueue("node-a"));
    const spans = await inSpans(3, (i) => pusher.push(10001, `u${i}`, Command.COMMAND_MSG_P2P, { n: i }));
    const msg = await received;
    // One batch, a payload per message in push order: payload i is message i's.
    expect(parentsOf(msg, 3)).toEqual(spans);
    await bus.close();
  });
});
