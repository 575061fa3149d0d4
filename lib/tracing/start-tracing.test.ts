import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { DeliverySpans, SPANS, traceDomainSend, traceGatewaySend, traceStoreWrite } from "./message-spans.js";
import { OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";
import { startTracing, type TracingHandle } from "./start-tracing.js";
import { batchTraceHeaders } from "./traceparent.js";
import {
  activeTraceparent,
  IncomingTrace,
  rememberedTrace,
  rememberTrace,
  roleTracer,
  tracingOn,
} from "./tracing.js";

const logger = pino({ level: "silent" });
const APP = 10001;

function config(enabled: boolean, otlpEndpoint = "http://127.0.0.1:9/v1/traces", sampleRatio = 1) {
  return { nodeId: "node-1", tracing: { enabled, otlpEndpoint, sampleRatio } };
}

/**
 * One send through every hop's helper in this process, handing the trace context on the way the
 * edges do (batch headers per item, bus headers per job and per payload). Resolves with the
 * traceparents each hop handed on.
 */
async function sendThroughEveryHop(): Promise<{ toDomain?: string; toBus?: string }> {
  const seen: { toDomain?: string; toBus?: string } = {};
  const item = {};
  await traceGatewaySend(Command.COMMAND_MSG_P2P, APP, false, async () => {
    rememberTrace(item); // forward.ts, for the batch's metadata
    // A SendMessages call of two items, ours second (chat-client.ts, lib/grpc/serve.ts).
    const call = batchTraceHeaders([undefined, rememberedTrace(item)]) ?? {};
    seen.toDomain = rememberedTrace(item);
    const incoming = new IncomingTrace((name) => call[name]);
    const data = await traceDomainSend(incoming, 1, Command.COMMAND_MSG_P2P, APP, async () => {
      const job = batchTraceHeaders([activeTraceparent()]) ?? {}; // store-jobs.ts, pusher.ts
      seen.toBus = job.traceparent;
      const jobTrace = new IncomingTrace((name) => job[name]);
      const facts = { queue: "store.p2p", appId: APP, messageKey: 77n, batchSize: 1, attempt: 1 };
      await traceStoreWrite(jobTrace.item(0), facts, async () => undefined);
      const deliver = DeliverySpans.of(job, "deliver.gateway-2");
      deliver?.delivered(0, APP, Command.COMMAND_MSG_P2P, 2);
      deliver?.end();
      return { messageKey: 77, messageSequence: 1 };
    });
    return { code: 0, data };
  });
  return seen;
}

describe("tracing", () => {
  let handle: TracingHandle | undefined;
  let receiver: OtlpReceiver | undefined;

  afterEach(async () => {
    await handle?.shutdown();
    await receiver?.close();
    handle = undefined;
    receiver = undefined;
  });

  it("off by default: no tracer, no context, the call runs as it is", async () => {
    handle = await startTracing(config(false), ["gateway", "domain", "store"], logger);
    expect(handle.enabled).toBe(false);
    expect(tracingOn()).toBe(false);
    expect(roleTracer("gateway")).toBeUndefined();
    const seen = await sendThroughEveryHop();
    expect(seen).toEqual({ toDomain: undefined, toBus: undefined });
  });

  it("loads the SDK only from sdk.ts, which no server code imports statically", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const sdkPackages = /from "@opentelemetry\/(?!api")[^"]+"/;
    const sources = ["app", "lib", "gateway", "services"].flatMap((dir) =>
      (readdirSync(`${root}${dir}`, { recursive: true }) as string[])
        .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
        .map((f) => `${dir}/${f}`),
    );
    expect(sources).toContain("lib/tracing/sdk.ts");
    for (const file of sources) {
      const text = readFileSync(`${root}${file}`, "utf8");
      if (file !== "lib/tracing/sdk.ts") expect(text, file).not.toMatch(sdkPackages);
      expect(text, file).not.toMatch(/from "[./]*(lib\/)?(tracing\/)?sdk\.js"/);
    }
    expect(readFileSync(`${root}lib/tracing/start-tracing.ts`, "utf8")).toContain('await import("./sdk.js")');
  });

  it("on: one send's spans at every hop form one trace, each under the hop before", async () => {
    receiver = await OtlpReceiver.start();
    handle = await startTracing(config(true, receiver.url), ["gateway", "domain", "store"], logger);
    expect(tracingOn()).toBe(true);
    const seen = await sendThroughEveryHop();
    await handle.shutdown(); // exports what is buffered
    const spans = await receiver.waitFor((s) => s.length >= 4, 10_000);
    expect(spans.map((s) => `${s.service}/${s.name}`).sort()).toEqual(
      [
        `domain/${SPANS.domainSend}`,
        `gateway/${SPANS.gatewayDeliver}`,
        `gateway/${SPANS.gatewaySend}`,
        `store/${SPANS.storeWrite}`,
      ].sort(),
    );
    const byName = new Map(spans.map((s) => [s.name, s] as const));
    const span = (name: string) => byName.get(name) as ReceivedSpan;
    const root = span(SPANS.gatewaySend);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([root.traceId]));
    expect(root.parentSpanId).toBe("");
    expect(span(SPANS.domainSend).parentSpanId).toBe(root.spanId);
    expect(span(SPANS.storeWrite).parentSpanId).toBe(span(SPANS.domainSend).spanId);
    expect(span(SPANS.gatewayDeliver).parentSpanId).toBe(span(SPANS.domainSend).spanId);
    expect(seen.toDomain).toBe(`00-${root.traceId}-${root.spanId}-01`);
    expect(seen.toBus).toBe(`00-${root.traceId}-${span(SPANS.domainSend).spanId}-01`);
    expect(root.attributes).toMatchObject({
      "whaleshark.app_id": APP,
      "whaleshark.command": 1103,
      "whaleshark.message_key": "77",
      "whaleshark.result_code": 0,
    });
    expect(span(SPANS.storeWrite).attributes).toMatchObject({
      "messaging.destination.name": "store.p2p",
      "whaleshark.message_key": "77",
    });
    expect(span(SPANS.gatewayDeliver).attributes).toMatchObject({ "whaleshark.connections": 2 });
    expect(receiver.rejected).toBe(0);
  });

  it("sampled out (sampleRatio 0): the context still travels, marked unsampled, and nothing is exported", async () => {
    receiver = await OtlpReceiver.start();
    handle = await startTracing(config(true, receiver.url, 0), ["gateway", "domain", "store"], logger);
    const seen = await sendThroughEveryHop();
    await handle.shutdown();
    expect(seen.toDomain).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(seen.toBus).toMatch(/-00$/);
    expect(receiver.spans).toEqual([]);
  });

  it("marks a failed send's span with the error's name and code, never its text", async () => {
    receiver = await OtlpReceiver.start();
    handle = await startTracing(config(true, receiver.url), ["gateway"], logger);
    const refusal = Object.assign(new Error("a text that might quote the message body"), {
      name: "FRIEND_IS_NOT_EXIST",
      code: 30010,
    });
    await expect(
      traceGatewaySend(Command.COMMAND_MSG_P2P, APP, false, () => Promise.reject(refusal)),
    ).rejects.toBe(refusal);
    await handle.shutdown();
    const [failed] = await receiver.waitFor((s) => s.length === 1, 10_000);
    expect(failed?.statusCode).toBe(2);
    expect(failed?.attributes["whaleshark.error_code"]).toBe(30010);
    expect(JSON.stringify(failed)).not.toContain("message body");
  });
});
