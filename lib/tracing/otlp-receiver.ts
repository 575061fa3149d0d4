import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/**
 * A minimal OTLP/HTTP JSON traces receiver for tests (lib/tracing's own and test/tracing/): it
 * accepts `POST /v1/traces` (ExportTraceServiceRequest as JSON, gzip or not), answers 200 `{}`, and
 * keeps every span with its resource's `service.name`. Listens on 127.0.0.1, port 0.
 */

/** One received span, flattened. Ids are lowercase hex, as OTLP/JSON writes them. */
export interface ReceivedSpan {
  service: string;
  /** The resource's `service.instance.id`: the process's nodeId (lib/tracing/sdk.ts). */
  instance: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  attributes: Record<string, string | number | boolean>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}

interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId?: string;
        spanId?: string;
        parentSpanId?: string;
        name?: string;
        kind?: number;
        attributes?: OtlpKeyValue[];
        status?: { code?: number };
      }>;
    }>;
  }>;
}

/** A running receiver: its URL, what it got, and how to wait for more. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests that were not a decodable POST /v1/traces (a test may assert there were none). */
  rejected = 0;
  readonly #waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    /** e.g. `http://127.0.0.1:41234/v1/traces`, for `tracing.otlpEndpoint`. */
    readonly url: string,
  ) {}

  /** Starts listening on a free loopback port. */
  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const accepted =
          req.method === "POST" &&
          req.url === "/v1/traces" &&
          receiver?.take(req.headers["content-encoding"], Buffer.concat(chunks));
        res.writeHead(accepted ? 200 : 400, { "content-type": "application/json" });
        res.end(accepted ? "{}" : '{"error":"expected POST /v1/traces with OTLP JSON"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new OtlpReceiver(server, `http://127.0.0.1:${port}/v1/traces`);
    return receiver;
  }

  /**
   * Resolves with the spans once `until` accepts them (checked now and after every request).
   * @throws Error after `timeoutMs`, naming the span names received so far
   */
  waitFor(until: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs: number): Promise<ReceivedSpan[]> {
    if (until(this.spans)) return Promise.resolve(this.spans);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!until(this.spans)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.spans);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const names = this.spans.map((s) => `${s.service}/${s.name}`).join(", ");
        reject(
          new Error(`OTLP receiver: spans not as expected within ${timeoutMs} ms (got: ${names || "none"})`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private take(encoding: string | undefined, body: Buffer): boolean {
    let request: OtlpRequest;
    try {
      const text = (encoding === "gzip" ? gunzipSync(body) : body).toString("utf8");
      request = JSON.parse(text) as OtlpRequest;
    } catch {
      this.rejected++;
      return false;
    }
    for (const rs of request.resourceSpans ?? []) {
      const resource = flatten(rs.resource?.attributes);
      const service = String(resource["service.name"] ?? "");
      const instance = String(resource["service.instance.id"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          this.spans.push({
            service,
            instance,
            name: span.name ?? "",
            kind: span.kind ?? 0,
            traceId: span.traceId ?? "",
            spanId: span.spanId ?? "",
            parentSpanId: span.parentSpanId ?? "",
            attributes: flatten(span.attributes),
            statusCode: span.status?.code ?? 0,
          });
        }
      }
    }
    for (const check of [...this.#waiters]) check();
    return true;
  }
}

function flatten(attributes: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    if (value?.stringValue !== undefined) out[key] = value.stringValue;
    else if (value?.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value?.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value?.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}
