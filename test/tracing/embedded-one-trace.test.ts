import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateUserSign } from "../../lib/auth/index.js";
import { SPANS } from "../../lib/tracing/index.js";
import { OtlpReceiver, type ReceivedSpan } from "../../lib/tracing/otlp-receiver.js";
import { type ChatMessage, WhaleSharkClient } from "../../sdk/index.js";
import { tcpTransport } from "../../sdk/transport/tcp.js";
import { isolatedEnv, type RunningCli, startCli } from "../support/cli.js";
import { APP_ID, APP_KEY } from "../support/harness/app.js";

/**
 * The same trace in the embedded profile (`whaleshark start`): every role in one process, the
 * gateway calling the domain in-process (lib/grpc/in-process.ts, same metadata as the network)
 * and the bus in memory behind its journal (headers kept). One P2P message between the demo users
 * is one trace of the four spans, each role's under its own service name (docs/tracing.md).
 */

describe("tracing: one message is one trace under `whaleshark start`", () => {
  let receiver: OtlpReceiver;
  let cli: RunningCli | undefined;
  const clients: WhaleSharkClient[] = [];

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    cli = startCli(
      ["start"],
      await isolatedEnv({
        WHALESHARK_SEED__DEMO: "true",
        WHALESHARK_TRACING__ENABLED: "true",
        WHALESHARK_TRACING__OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
      }),
    );
    await cli.waitForLog((l) => l.msg === "whaleshark started", 90_000);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    cli?.child.kill("SIGKILL");
    await receiver?.close();
  });

  function device(userId: string, port: number, received: ChatMessage[]): WhaleSharkClient {
    const client = new WhaleSharkClient({
      transport: tcpTransport({ host: "127.0.0.1", port, connectTimeoutMs: 2000 }),
      appId: APP_ID,
      userId,
      clientType: 3,
      imei: `${userId}-phone`,
      userSign: () =>
        generateUserSign({ appId: APP_ID, identifier: userId, privateKey: APP_KEY, expireSeconds: 600 }),
    });
    client.on("message", (m) => received.push(m));
    clients.push(client);
    return client;
  }

  it("gateway.send → domain.send → store.write and gateway.deliver, one trace id", async () => {
    const listening = await (cli as RunningCli).waitForLog((l) => l.msg === "gateway listening");
    const port = listening.tcpPort as number;
    const toBob: ChatMessage[] = [];
    const alice = device("alice", port, []);
    const bob = device("bob", port, toBob);
    await Promise.all([alice.connect(), bob.connect()]);

    const ack = await alice.sendP2P({ toId: "bob", messageBody: "traced in one process" });
    expect(ack).toMatchObject({ code: 200, ok: true });
    const messageKey = String(ack.data?.messageKey);

    const rootOf = (spans: readonly ReceivedSpan[]) =>
      spans.find(
        (s) =>
          s.name === SPANS.gatewaySend &&
          s.attributes["whaleshark.message_key"] === messageKey &&
          s.attributes["whaleshark.send.joined"] === false,
      );
    const trace = (spans: readonly ReceivedSpan[]) => {
      const root = rootOf(spans);
      return root === undefined ? [] : spans.filter((s) => s.traceId === root.traceId);
    };
    const spans = trace(
      await receiver.waitFor((all) => {
        const names = new Set(trace(all).map((s) => s.name));
        return [SPANS.domainSend, SPANS.storeWrite, SPANS.gatewayDeliver].every((n) => names.has(n));
      }, 30_000),
    );
    expect(toBob.some((m) => String(m.message.messageKey) === messageKey)).toBe(true);

    const one = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0] as ReceivedSpan;
    };
    const [send, domain, store, deliver] = [
      one(SPANS.gatewaySend),
      one(SPANS.domainSend),
      one(SPANS.storeWrite),
      one(SPANS.gatewayDeliver),
    ];
    expect(send.parentSpanId).toBe("");
    expect(domain.parentSpanId).toBe(send.spanId);
    expect(store.parentSpanId).toBe(domain.spanId);
    expect(deliver.parentSpanId).toBe(domain.spanId);
    expect([send, domain, store, deliver].map((s) => s.service)).toEqual([
      "gateway",
      "domain",
      "store",
      "gateway",
    ]);
    expect(new Set(spans.map((s) => s.instance)).size).toBe(1); // one process
  });
});
