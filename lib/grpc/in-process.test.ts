import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChatServiceClient,
  type ChatServiceSendP2PMessageRequest,
  ChatServiceSendP2PMessageResponse,
  ChatServiceService,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import { ImError } from "../errors/index.js";
import { INTERNAL_SECRET_METADATA, InternalAuthenticator } from "./auth.js";
import { errorCodeOf } from "./errors.js";
import { InProcessServices } from "./in-process.js";
import { type InternalHandlers, serveInternal } from "./serve.js";
import { type RunningGrpcServer, startGrpcServer } from "./server.js";

/**
 * An in-process call must look to both sides exactly like the same call over the network: the
 * same response, the same status and `whaleshark-code` trailer, the same authentication, a
 * deadline — and it must stop being in-process once the server stops.
 */
const SECRET = "an-internal-secret-of-32-chars!!";
const PATH = ChatServiceService.sendP2PMessage.path;
const local = new InProcessServices();
let server: RunningGrpcServer;
let client: ChatServiceClient;
let sawCancel: Promise<void>;
let cancelled!: () => void;

const handlers: InternalHandlers<typeof ChatServiceService> = {
  async sendP2PMessage(req) {
    const body = req.content?.messageBody ?? "";
    if (body === "refuse") throw ImError.of("FRIEND_IS_BLACK");
    if (body === "slow") await new Promise((r) => setTimeout(r, 300));
    return { data: { messageId: req.content?.messageId ?? "", messageKey: 7, messageSequence: 3 } };
  },
};

function request(messageBody: string): ChatServiceSendP2PMessageRequest {
  return {
    session: { appId: 1, userId: "alice", clientType: 1, imei: "i", gatewayNodeId: "n1", connectionId: "c1" },
    content: {
      appId: 1,
      clientType: 1,
      imei: "i",
      fromId: "alice",
      toId: "bob",
      messageId: `m-${messageBody}`,
      messageBody,
      messageTime: 0,
      extra: "",
      messageKey: 0,
      messageSequence: 0,
    },
  };
}

function secretMetadata(secret = SECRET): Metadata {
  const m = new Metadata();
  if (secret !== "") m.set(INTERNAL_SECRET_METADATA, secret);
  return m;
}

/** The call in-process: response or ServiceError. */
async function inProcess(body: string, opts: { secret?: string; timeoutMs?: number } = {}) {
  const bytes = ChatServiceService.sendP2PMessage.requestSerialize(request(body));
  const pending = local.call(
    PATH,
    bytes,
    secretMetadata(opts.secret),
    Date.now() + (opts.timeoutMs ?? 2_000),
  );
  if (pending === undefined) return "not local";
  return pending.then(
    (res) => ChatServiceSendP2PMessageResponse.decode(res),
    (error: ServiceError) => error,
  );
}

/** The same call over the network. */
function overNetwork(body: string, secret = SECRET) {
  return new Promise<ChatServiceSendP2PMessageResponse | ServiceError>((resolve) => {
    client.sendP2PMessage(
      request(body),
      secretMetadata(secret),
      { deadline: Date.now() + 2_000 },
      (err, res) => resolve(err ?? res),
    );
  });
}

beforeAll(async () => {
  const logger = pino({ level: "silent" });
  const impl = serveInternal("ChatService", ChatServiceService, handlers, {
    auth: new InternalAuthenticator(SECRET),
    logger,
  });
  sawCancel = new Promise((resolve) => {
    cancelled = resolve;
  });
  // A probe around the slow method: the handler's call must report the passed deadline.
  const probe = { ...impl };
  const slow = impl.sendP2PMessage as (call: { once(e: string, f: () => void): void }, cb: unknown) => void;
  probe.sendP2PMessage = ((call: { once(e: string, f: () => void): void }, cb: unknown) => {
    call.once("cancelled", () => cancelled());
    slow(call, cb);
  }) as NonNullable<typeof impl.sendP2PMessage>;
  server = await startGrpcServer({
    role: "test",
    host: "127.0.0.1",
    port: 0,
    services: [{ name: "whaleshark.v1.ChatService", definition: ChatServiceService, handlers: probe }],
    logger,
    inProcess: local,
  });
  client = new ChatServiceClient(server.address, credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.stop(100);
});

describe("InProcessServices", () => {
  it("answers like the network: same response, same refusal status and code trailer", async () => {
    expect(await inProcess("hi")).toEqual(await overNetwork("hi"));
    const [here, there] = [await inProcess("refuse"), await overNetwork("refuse")];
    expect(here).toBeInstanceOf(Error);
    for (const e of [here, there] as ServiceError[]) {
      expect(errorCodeOf(e)).toBe(30006);
    }
    expect((here as ServiceError).code).toBe((there as ServiceError).code);
    expect((here as ServiceError).details).toBe((there as ServiceError).details);
  });

  it("authenticates as the network does: no secret or a wrong one is refused alike", async () => {
    for (const secret of ["", "a-wrong-secret-of-enough-length!"]) {
      const [here, there] = [
        (await inProcess("hi", { secret })) as ServiceError,
        (await overNetwork("hi", secret)) as ServiceError,
      ];
      expect(here.code).toBe(status.UNAUTHENTICATED);
      expect(here.code).toBe(there.code);
      expect(errorCodeOf(here)).toBe(errorCodeOf(there));
    }
  });

  it("fails with DEADLINE_EXCEEDED when the handler is late, and the handler sees the call cancelled", async () => {
    const late = (await inProcess("slow", { timeoutMs: 50 })) as ServiceError;
    expect(late.code).toBe(status.DEADLINE_EXCEEDED);
    await sawCancel;
  });

  it("leaves the process once the server stops, so callers use the network", async () => {
    expect(local.has(PATH)).toBe(true);
    const other = new InProcessServices();
    const stop = other.register([{ name: "x", definition: ChatServiceService, handlers: {} }]);
    expect(other.has(PATH)).toBe(false); // only handled methods are registered
    stop();
    await server.stop(100);
    expect(local.has(PATH)).toBe(false);
    expect(await inProcess("hi")).toBe("not local");
  });
});
