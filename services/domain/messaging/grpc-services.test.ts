import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChatServiceClient,
  ChatServiceMarkReadRequest,
  type ChatServiceMarkReadResponse,
  ChatServiceRecallMessageRequest,
  type ChatServiceRecallMessageResponse,
  ChatServiceReceiveAckRequest,
  type ChatServiceReceiveAckResponse,
  ChatServiceSendGroupMessageRequest,
  type ChatServiceSendGroupMessageResponse,
  ChatServiceSendP2PMessageRequest,
  type ChatServiceSendP2PMessageResponse,
  ChatServiceSessionClosedRequest,
  type ChatServiceSessionClosedResponse,
  type DeepPartial,
  type SessionContext,
} from "../../../gen/ts/whaleshark/v1/chat_service.js";
import { ConversationType } from "../../../gen/ts/whaleshark/v1/enums.js";
import {
  type DeepPartial as ApiPartial,
  CheckSendRequest,
  type CheckSendResponse,
  MessageServiceClient,
  SendGroupMessageRequest,
  type SendGroupMessageResponse,
  SendMessageRequest,
  type SendMessageResponse,
} from "../../../gen/ts/whaleshark/v1/message_service.js";
import type { StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { AppAuthenticator, INTERNAL_SECRET_METADATA, InternalAuthenticator } from "../../../lib/grpc/auth.js";
import { errorCodeOf } from "../../../lib/grpc/errors.js";
import { type RunningGrpcServer, startGrpcServer } from "../../../lib/grpc/server.js";
import {
  ADMIN,
  APP,
  type MessagingHarness,
  startMessagingHarness,
  storeBody,
} from "../../../test/domain/messaging-harness.js";
import { appMetadata } from "../../../test/support/grpc-caller.js";
import { APP_KEY } from "../../../test/support/harness/index.js";
import { domainServices } from "../services.js";

const SECRET = "messaging-internal-secret-0123456789";

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;

/** A unary call as a promise: `start` makes the call with the callback it is given. */
function unary<Res>(start: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => start((e, r) => (e ? reject(e) : resolve(r))));
}

async function failure(promise: Promise<unknown>): Promise<{ code: number | undefined; status: number }> {
  const error = await promise.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  if (error === undefined) throw new Error("expected the call to fail");
  return { code: errorCodeOf(error), status: error.code };
}

describe("ChatService and MessageService over gRPC", () => {
  let h: MessagingHarness;
  let server: RunningGrpcServer;
  let chat: ChatServiceClient;
  let api: MessageServiceClient;
  const internal = new grpc.Metadata();
  internal.set(INTERNAL_SECRET_METADATA, SECRET);
  const signed = (userId: string) => appMetadata({ appId: APP, userId, privateKey: APP_KEY });
  const session = (userId: string, imei = `${userId}-phone`): SessionContext => ({
    appId: APP,
    userId,
    clientType: 3,
    imei,
    gatewayNodeId: "n1",
    connectionId: `c-${imei}`,
  });

  beforeAll(async () => {
    h = await startMessagingHarness();
    await h.users(["alice", "bob", "stranger", ADMIN]);
    await h.friends("alice", "bob");
    await h.group("crew", ["alice", "bob"]);
    const logger = pino({ level: "silent" });
    const appAuth = new AppAuthenticator({
      apps: h.config.apps,
      kv: h.kv,
      userType: async () => 1,
    });
    server = await startGrpcServer({
      role: "domain",
      host: "127.0.0.1",
      port: 0,
      services: domainServices({
        env: h.env,
        appAuth,
        internalAuth: new InternalAuthenticator(SECRET),
        logger,
        messaging: h.messaging,
      }),
      logger,
    });
    chat = new ChatServiceClient(server.address, grpc.credentials.createInsecure());
    api = new MessageServiceClient(server.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    chat?.close();
    api?.close();
    await server?.stop(0);
    await h?.close();
  });

  const p2p = (req: DeepPartial<ChatServiceSendP2PMessageRequest>, md = internal) =>
    unary<ChatServiceSendP2PMessageResponse>((cb) =>
      chat.sendP2PMessage(ChatServiceSendP2PMessageRequest.fromPartial(req), md, cb),
    );
  const apiSend = (req: ApiPartial<SendMessageRequest>, as: string) =>
    unary<SendMessageResponse>((cb) => api.sendMessage(SendMessageRequest.fromPartial(req), signed(as), cb));
  const checkSend = (toId: string, conversationType: ConversationType) =>
    unary<CheckSendResponse>((cb) =>
      api.checkSend(
        CheckSendRequest.fromPartial({
          appId: APP,
          operater: "alice",
          fromId: "alice",
          toId,
          conversationType,
        }),
        signed("alice"),
        cb,
      ),
    );

  it("accepts chat calls only with the internal credentials", async () => {
    const f = await failure(p2p({ session: session("alice") }, new grpc.Metadata()));
    expect(f).toEqual({ code: 60000, status: grpc.status.UNAUTHENTICATED });
  });

  it("sends 1103 as the session's user, whatever the body says (D26), and answers the ACK data", async () => {
    const content = { messageId: "grpc-1", fromId: "mallory", toId: "bob", messageBody: "hi" };
    const res = await p2p({ session: session("alice"), content });
    expect(res.data).toMatchObject({ messageId: "grpc-1", messageSequence: 1 });
    expect(res.data?.messageKey).toBeGreaterThan(0);
    const [job] = (await h.jobs()) as StoreP2PMessageJob[];
    expect(job?.message?.fromId).toBe("alice");
    await storeBody(h.database.db, job as StoreP2PMessageJob);

    const group = await unary<ChatServiceSendGroupMessageResponse>((cb) =>
      chat.sendGroupMessage(
        ChatServiceSendGroupMessageRequest.fromPartial({
          session: session("bob"),
          content: { groupId: "crew", messageId: "grpc-g" },
        }),
        internal,
        cb,
      ),
    );
    expect(group.data).toMatchObject({ messageId: "grpc-g", messageSequence: 1 });
    const refused = await failure(p2p({ session: session("alice"), content: { toId: "bob" } }));
    expect(refused).toEqual({ code: 90001, status: grpc.status.INVALID_ARGUMENT });

    const bob = session("bob");
    await unary<ChatServiceReceiveAckResponse>((cb) =>
      chat.receiveAck(
        ChatServiceReceiveAckRequest.fromPartial({ session: bob, content: { toId: "alice", messageKey: 1 } }),
        internal,
        cb,
      ),
    );
    await unary<ChatServiceMarkReadResponse>((cb) =>
      chat.markRead(
        ChatServiceMarkReadRequest.fromPartial({
          session: bob,
          content: { toId: "alice", messageSequence: 1 },
        }),
        internal,
        cb,
      ),
    );
    const recalled = await unary<ChatServiceRecallMessageResponse>((cb) =>
      chat.recallMessage(
        ChatServiceRecallMessageRequest.fromPartial({
          session: session("alice"),
          content: { messageKey: res.data?.messageKey ?? 0, toId: "bob" },
        }),
        internal,
        cb,
      ),
    );
    expect(recalled.data).toEqual({ messageKey: res.data?.messageKey });
    const closed = await unary<ChatServiceSessionClosedResponse>((cb) =>
      chat.sessionClosed(
        ChatServiceSessionClosedRequest.fromPartial({ session: bob, reason: 1 }),
        internal,
        cb,
      ),
    );
    expect(closed).toEqual({});
    await h.jobs();
  });

  it("sends as a user through MessageService with the same pipeline (D18), admins as anyone", async () => {
    const req = {
      appId: APP,
      operater: "alice",
      messageId: "api-1",
      fromId: "alice",
      toId: "bob",
      messageBody: "from the app server",
    };
    const res = await apiSend(req, "alice");
    expect(res).toMatchObject({ messageId: "api-1", messageSequence: 2 });
    expect(res.messageTime).toBeGreaterThan(0);
    expect(await apiSend(req, "alice")).toEqual(res); // a retry
    const asOther = { ...req, messageId: "api-2", fromId: "bob", toId: "alice" };
    expect(await failure(apiSend(asOther, "alice"))).toEqual({
      code: 60005,
      status: grpc.status.PERMISSION_DENIED,
    });
    const byAdmin = await apiSend({ ...asOther, operater: ADMIN }, ADMIN);
    expect(byAdmin.messageSequence).toBe(3);
    const group = await unary<SendGroupMessageResponse>((cb) =>
      api.sendGroupMessage(
        SendGroupMessageRequest.fromPartial({
          appId: APP,
          operater: "alice",
          fromId: "alice",
          messageId: "api-g",
          groupId: "crew",
        }),
        signed("alice"),
        cb,
      ),
    );
    expect(group.messageSequence).toBe(2);
    expect(await h.jobs()).toHaveLength(3);
  });

  it("answers CheckSend with the refusal, not a failed call", async () => {
    expect(await checkSend("bob", ConversationType.CONVERSATION_TYPE_P2P)).toMatchObject({
      ok: true,
      code: 200,
    });
    const no = await checkSend("stranger", ConversationType.CONVERSATION_TYPE_P2P);
    expect(no).toMatchObject({ ok: false, code: 30008 });
    const group = await checkSend("nope", ConversationType.CONVERSATION_TYPE_GROUP);
    expect(group).toMatchObject({ ok: false, code: 40000 });
  });
});
