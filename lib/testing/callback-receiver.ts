import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One callback the receiver got. */
export interface CallbackHit {
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

/** What the receiver answers the `n`th request (1-based) with. */
export type CallbackReply = (req: IncomingMessage, res: ServerResponse, n: number, hit: CallbackHit) => void;

/** A local app server for callback tests (tests only): records every POST and answers as told. */
export interface CallbackReceiver {
  /** The callback URL to configure (`callbacks.url`). */
  url: string;
  /** Every request so far, in arrival order. */
  hits: CallbackHit[];
  /** Replaces how requests are answered (default: ResponseVO code 200, data null). */
  reply: CallbackReply;
  close(): Promise<void>;
}

/** ResponseVO success with `data`. */
export function allow(res: ServerResponse, data: unknown = null): void {
  res.end(JSON.stringify({ code: 200, msg: "success", data, ok: true }));
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  let server: Server | undefined;
  const receiver: CallbackReceiver = {
    url: "",
    hits: [],
    reply: (_req, res) => allow(res),
    async close() {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    },
  };
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    req.on("end", () => {
      const u = new URL(req.url ?? "/", "http://x");
      const hit = { query: u.searchParams, contentType: req.headers["content-type"], body: JSON.parse(text) };
      receiver.hits.push(hit);
      receiver.reply(req, res, receiver.hits.length, hit);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return receiver;
}
