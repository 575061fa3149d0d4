import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChatServiceClient,
  ChatServiceSendGroupMessageRequest,
  ChatServiceSendItem,
  ChatServiceSendMessagesRequest,
  type ChatServiceSendMessagesResponse,
  ChatServiceSendP2PMessageRequest,
  type DeepPartial,
  type SessionContext,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import type { MessageAckData } from "../../gen/ts/whaleshark/v1/message.js";
import {
  MessageServiceClient,
  SendGroupMessageRequest,
  type SendGroupMessageResponse,
  SendMessageRequest,
  type SendMessageResponse,
  SyncOfflineMessagesRequest,
  type SyncOfflineMessagesResponse,
} from "../../gen/ts/whaleshark/v1/message_service.js";
import { openPgliteDatabase } from "../../lib/adapters/pglite/database.js";
import { isImError } from "../../lib/errors/index.js";
import { AppAuthenticator, INTERNAL_SECRET_METADATA, InternalAuthenticator } from "../../lib/grpc/auth.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { type RunningGrpcServer, startGrpcServer } from "../../lib/grpc/server.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import { MESSAGE_LIMITS } from "../../services/domain/messaging/settings.js";
import { domainServices } from "../../services/domain/services.js";
import { type StoreConsumer, startStoreConsumer } from "../../services/store/consumer/store-consumer.js";
import { ADMIN, APP, type MessagingHarness, startMessagingHarness } from "../domain/messaging-harness.js";
import { appMetadata } from "../support/grpc-caller.js";
import { APP_KEY } from "../support/harness/index.js";

/**
 * Issue 13: an ACK means the message is stored. Every value of a send that
 * the store would refuse (a NUL, a string longer than its column, a number
 * out of range) is refused with 90001 naming the field before anything is
 * ACKed, over the device path (ChatService: single calls and per item of a
 * batch) and the app-server path (MessageService); the largest values
 * accepted are ACKed and then really written by the store, read back from the
 * database and by sync. The domain, a real store consumer and the database
 * run together, on PostgreSQL and on PGlite (the embedded profile).
 */

const SECRET = "stored-fields-internal-secret-0123";
const logger = pino({ level: "silent" });

/** Ids at the column limit (50 characters): one counted in code points (52 UTF-16 units). */
const LONG_A = `${"a".repeat(48)}😀😀`;
const LONG_B = "b".repeat(MESSAGE_LIMITS.id);
const LONG_GROUP = `${"g".repeat(MESSAGE_LIMITS.id - 1)}é`;
const CREW = "crew";
/** Printable, control, non-BMP and non-characters: everything but NUL is stored as it is. */
const ODD = "\u0001\u001f\u007f\u0080\ufeff\ufffe\uffff\u{10ffff}\u2028\ufffd";

/** `n` characters as PostgreSQL counts them, mostly non-BMP (twice the UTF-16 units). */
function chars(n: number, seed: string): string {
  const tail = `${seed}${ODD}`;
  return `${"😀".repeat(n - [...tail].length)}${tail}`;
}

const databases: Array<[string, () => Promise<MigratedTestDatabase>]> = [
  ["PostgreSQL", () => migratedTestDatabase()],
  [
    "PGlite",
    async () => {
      const handle = await openPgliteDatabase();
      return { db: handle.db, url: "pglite:memory", close: () => handle.close() };
    },
  ],
];

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;

function unary<Res>(start: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => start((e, r) => (e ? reject(e) : resolve(r))));
}

/** The call's refusal as `code detail`; fails the test when the call succeeded. */
async function refusal(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  if (error === undefined) return "ACKed";
  return `${errorCodeOf(error)} ${error.details}`;
}

/** A catalogue 90001 text with `detail`. */
const param = (detail: string) => `90001 参数校验错误: ${detail}`;

/** The paths of every string-valued leaf of a (fully defaulted) ts-proto message. */
function stringPaths(value: object, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "string") out.push([...prefix, key]);
    else if (typeof v === "object" && v !== null && !Array.isArray(v))
      out.push(...stringPaths(v, [...prefix, key]));
  }
  return out;
}

/** A copy of `value` with a NUL inserted into the string at `path`. */
function withNul<T extends object>(value: T, path: string[]): T {
  const copy = structuredClone(value);
  let node = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  node[last] = `${node[last] as string}\u0000x`;
  return copy;
}

const protoPath = (path: string[]) =>
  path.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join(".");

describe.each(databases)("what a send ACKs is stored (%s)", (_name, openDatabase) => {
  let h: MessagingHarness;
  let store: StoreConsumer;
  let server: RunningGrpcServer;
  let chat: ChatServiceClient;
  let api: MessageServiceClient;
  const internal = new grpc.Metadata();
  internal.set(INTERNAL_SECRET_METADATA, SECRET);
  /** The messageKeys of every ACK, each checked stored at the end. */
  const acked = new Set<number>();
  let ids = 0;
  const id = (tag: string) => `${tag}-${++ids}`;

  const signed = (userId: string) => appMetadata({ appId: APP, userId, privateKey: APP_KEY });
  const session = (userId: string, over: Partial<SessionContext> = {}): SessionContext => ({
    appId: APP,
    userId,
    clientType: 3,
    imei: "phone",
    gatewayNodeId: "n1",
    connectionId: "conn-1",
    ...over,
  });

  /** A batch of one item (the gateway's only call for sends): the item's result. */
  async function sendItem(item: DeepPartial<ChatServiceSendItem>) {
    const res = await unary<ChatServiceSendMessagesResponse>((cb) =>
      chat.sendMessages(ChatServiceSendMessagesRequest.fromPartial({ items: [item] }), internal, cb),
    );
    return res.results[0];
  }
  const p2pItem = (from: string, content: DeepPartial<ChatServiceSendItem["p2p"]>, over = {}) => ({
    session: session(from, over),
    p2p: { messageId: id("p2p"), toId: "bob", messageBody: "hi", extra: "x", ...content },
  });
  const groupItem = (from: string, content: DeepPartial<ChatServiceSendItem["group"]>, over = {}) => ({
    session: session(from, over),
    group: { messageId: id("group"), groupId: CREW, messageBody: "hi", extra: "x", ...content },
  });
  /** The single calls SendP2PMessage / SendGroupMessage with the same body (session + content). */
  async function sendSingle(item: ReturnType<typeof p2pItem> | ReturnType<typeof groupItem>) {
    if ("p2p" in item) {
      const request = ChatServiceSendP2PMessageRequest.fromPartial({
        session: item.session,
        content: item.p2p,
      });
      return unary<{ data?: MessageAckData }>((cb) => chat.sendP2PMessage(request, internal, cb));
    }
    const request = ChatServiceSendGroupMessageRequest.fromPartial({
      session: item.session,
      content: item.group,
    });
    return unary<{ data?: MessageAckData }>((cb) => chat.sendGroupMessage(request, internal, cb));
  }

  /** Waits until the store wrote message `key`; returns its body row. */
  async function stored(key: number) {
    const until = Date.now() + 15_000;
    for (;;) {
      const row = await h.database.db.messageBody.findUnique({ where: { messageKey: BigInt(key) } });
      if (row !== null) return row;
      if (Date.now() > until) throw new Error(`message ${key} was ACKed but never stored`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeAll(async () => {
    h = await startMessagingHarness({ consumeJobs: false, database: openDatabase });
    store = await startStoreConsumer({
      bus: h.bus,
      db: h.database.db,
      logger,
      batchSize: 20,
      batchWaitMs: 5,
      maxAttempts: 2,
      retryDelayMs: 10,
    });
    await h.users(["alice", "bob", LONG_A, LONG_B, ADMIN]);
    await h.friends("alice", "bob");
    await h.friends(LONG_A, LONG_B);
    await h.friends("alice", LONG_B);
    await h.group(CREW, ["alice", "bob"]);
    await h.group(LONG_GROUP, [LONG_A, LONG_B, "alice"]);
    server = await startGrpcServer({
      role: "domain",
      host: "127.0.0.1",
      port: 0,
      services: domainServices({
        env: h.env,
        appAuth: new AppAuthenticator({ apps: h.config.apps, kv: h.kv, userType: async () => 1 }),
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
    await store?.stop();
    await h?.close();
  });

  it("checks the lengths the database has (MESSAGE_LIMITS against the migrated columns)", async () => {
    const columns = await h.database.db.$queryRaw<Array<{ tbl: string; column: string; max: number }>>`
      SELECT table_name AS tbl, column_name AS column, character_maximum_length::int AS max
      FROM information_schema.columns
      WHERE table_name IN ('im_message_body', 'im_message_history', 'im_group_message_history')
        AND data_type = 'character varying'`;
    const limit: Record<string, number> = {
      message_body: MESSAGE_LIMITS.body,
      message_id: MESSAGE_LIMITS.messageId,
      extra: MESSAGE_LIMITS.extra,
      from_id: MESSAGE_LIMITS.id,
      to_id: MESSAGE_LIMITS.id,
      owner_id: MESSAGE_LIMITS.id,
      peer_id: MESSAGE_LIMITS.id,
      group_id: MESSAGE_LIMITS.id,
      security_key: 100, // never written by a send (default '')
    };
    expect(columns.length).toBeGreaterThan(8);
    for (const c of columns) expect({ ...c, max: limit[c.column] }).toEqual(c);
  });

  it("refuses a NUL in any string of a P2P or group send with 90001 naming it, ACKing nothing", async () => {
    const wrong: string[] = [];
    const probed: string[] = [];
    for (const item of [p2pItem("alice", {}), groupItem("alice", {})]) {
      const kind = "p2p" in item ? "p2p" : "group";
      const request = ChatServiceSendItem.fromPartial(item);
      // Every string of the full item (session and content), in the batch (per item) and the single call.
      for (const path of stringPaths(request)) {
        probed.push(protoPath(path));
        const bad = withNul(request, path);
        const result = await sendItem(bad);
        const expected = param(`${protoPath(path)} contains a NUL character`);
        if (`${result?.code} ${result?.msg}` !== expected) {
          wrong.push(`batch ${path.join(".")}: ${result?.msg}`);
        }
        const singlePath = path[0] === "session" ? path : ["content", ...path.slice(1)];
        const single = await refusal(
          sendSingle({ session: bad.session, [kind]: bad[kind as "p2p"] } as ReturnType<typeof p2pItem>),
        );
        if (single !== param(`${protoPath(singlePath)} contains a NUL character`)) {
          wrong.push(`single ${path.join(".")}: ${single}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    const columns = ["from_id", "to_id", "message_id", "message_body", "extra"];
    expect(probed).toEqual(
      expect.arrayContaining([
        "session.user_id",
        "session.imei",
        ...columns.map((f) => `p2p.${f}`),
        ...columns.map((f) => `group.${f === "to_id" ? "group_id" : f}`),
      ]),
    );
  });

  it("refuses values past their column or range with 90001 naming the field, per item of a batch", async () => {
    const over = {
      messageId: "m".repeat(MESSAGE_LIMITS.messageId + 1),
      body: chars(MESSAGE_LIMITS.body + 1, "b"),
      extra: chars(MESSAGE_LIMITS.extra + 1, "e"),
      id: `${LONG_B}x`,
    };
    const cases: Array<[string, ReturnType<typeof p2pItem> | ReturnType<typeof groupItem>, string]> = [
      ["p2p from", p2pItem(over.id, {}), "from_id is longer than 50 characters"],
      ["p2p to", p2pItem("alice", { toId: over.id }), "to_id is longer than 50 characters"],
      ["p2p id", p2pItem("alice", { messageId: over.messageId }), "message_id is longer than 100 characters"],
      [
        "p2p body",
        p2pItem("alice", { messageBody: over.body }),
        "message_body is longer than 5000 characters",
      ],
      ["p2p extra", p2pItem("alice", { extra: over.extra }), "extra is longer than 1000 characters"],
      ["p2p time", p2pItem("alice", { messageTime: -1 }), "message_time must be epoch milliseconds"],
      ["p2p client", p2pItem("alice", {}, { clientType: -1 }), "session.client_type is not a ClientType"],
      ["p2p client", p2pItem("alice", {}, { clientType: 6 }), "session.client_type is not a ClientType"],
      ["group from", groupItem(over.id, {}), "from_id is longer than 50 characters"],
      ["group id", groupItem("alice", { groupId: over.id }), "group_id is longer than 50 characters"],
      [
        "group msg",
        groupItem("alice", { messageId: over.messageId }),
        "message_id is longer than 100 characters",
      ],
      [
        "group body",
        groupItem("alice", { messageBody: over.body }),
        "message_body is longer than 5000 characters",
      ],
      ["group extra", groupItem("alice", { extra: over.extra }), "extra is longer than 1000 characters"],
      ["group time", groupItem("alice", { messageTime: -5 }), "message_time must be epoch milliseconds"],
      ["group client", groupItem("alice", {}, { clientType: 99 }), "session.client_type is not a ClientType"],
    ];
    // One batch: each bad item gets its own 90001, the good ones around them are ACKed.
    const items = [p2pItem("alice", {}), ...cases.map(([, item]) => item), groupItem("alice", {})];
    const res = await unary<ChatServiceSendMessagesResponse>((cb) =>
      chat.sendMessages(ChatServiceSendMessagesRequest.fromPartial({ items }), internal, cb),
    );
    const answers = res.results.map((r) => (r.code === 0 ? "ACKed" : `${r.code} ${r.msg}`));
    expect(answers).toEqual(["ACKed", ...cases.map(([, , detail]) => param(detail)), "ACKed"]);
    for (const r of res.results) if (r.code === 0) acked.add(r.data?.messageKey ?? 0);
    // The single calls answer the same.
    for (const [name, item, detail] of cases)
      expect([name, await refusal(sendSingle(item))]).toEqual([name, param(detail)]);
  });

  it("refuses text the driver would alter (an unpaired surrogate) from any caller of the pipeline", async () => {
    // gRPC decoding turns such text into U+FFFD before the edge sees it; a direct caller is refused.
    const send = (field: "messageBody" | "extra" | "toId") =>
      h.messaging.send({
        conversationType: P2P,
        appId: APP,
        fromId: "alice",
        toId: "bob",
        messageId: id("surrogate"),
        messageBody: "",
        messageTime: 0,
        extra: "",
        device: { clientType: 3, imei: "phone" },
        [field]: "x\ud800",
      });
    for (const [field, name] of [
      ["messageBody", "message_body"],
      ["extra", "extra"],
      ["toId", "to_id"],
    ] as const) {
      const error = await send(field).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isImError(error) && [error.code, error.detail]).toEqual([
        90001,
        `${name} contains an unpaired UTF-16 surrogate`,
      ]);
    }
  });

  it("ACKs the largest accepted values and the store writes them as they were", async () => {
    const limit = {
      messageId: chars(MESSAGE_LIMITS.messageId, "id"),
      messageBody: chars(MESSAGE_LIMITS.body, "body"),
      extra: chars(MESSAGE_LIMITS.extra, "extra"),
      messageTime: Number.MAX_SAFE_INTEGER,
    };
    const sends = [
      { how: "single", item: p2pItem(LONG_A, { ...limit, toId: LONG_B }), type: P2P, to: LONG_B },
      { how: "batch", item: p2pItem(LONG_B, { ...limit, toId: LONG_A }), type: P2P, to: LONG_A },
      {
        how: "single",
        item: groupItem(LONG_A, { ...limit, groupId: LONG_GROUP }),
        type: GROUP,
        to: LONG_GROUP,
      },
      {
        how: "batch",
        item: groupItem(LONG_B, { ...limit, groupId: LONG_GROUP }),
        type: GROUP,
        to: LONG_GROUP,
      },
    ];
    for (const [n, s] of sends.entries()) {
      const content = "p2p" in s.item ? s.item.p2p : s.item.group;
      content.messageId = `${n}${[...limit.messageId].slice(1).join("")}`; // still 100 characters, unique
      const data = s.how === "single" ? (await sendSingle(s.item)).data : (await sendItem(s.item))?.data;
      expect(data?.messageId).toBe(content.messageId);
      const key = data?.messageKey ?? 0;
      acked.add(key);
      const row = await stored(key);
      expect(row).toMatchObject({
        conversationType: s.type,
        fromId: s.item.session.userId,
        toId: s.to,
        messageId: content.messageId,
        messageBody: limit.messageBody,
        extra: limit.extra,
        messageTime: BigInt(Number.MAX_SAFE_INTEGER),
        messageSequence: BigInt(data?.messageSequence ?? 0),
      });
      const history =
        s.type === P2P
          ? await h.database.db.messageHistory.count({ where: { messageKey: BigInt(key) } })
          : await h.database.db.groupMessageHistory.count({ where: { messageKey: BigInt(key) } });
      expect(history).toBe(s.type === P2P ? 2 : 1);
    }
    // ...and a device that was offline gets them by sync (LONG_B: both P2P messages and the group's).
    const sync = await unary<SyncOfflineMessagesResponse>((cb) =>
      api.syncOfflineMessages(
        SyncOfflineMessagesRequest.fromPartial({ appId: APP, operater: LONG_B, maxLimit: 100 }),
        signed(LONG_B),
        cb,
      ),
    );
    const bodies = sync.dataList.filter((m) => m.messageBody === limit.messageBody);
    expect(bodies.map((m) => [m.fromId, m.toId, m.extra, m.messageTime])).toEqual(
      sends.map((s) => [s.item.session.userId, s.to, limit.extra, Number.MAX_SAFE_INTEGER]),
    );
  });

  it("applies the same limits to app-server sends (MessageService), ACKing and storing the largest", async () => {
    const apiSend = (req: Partial<SendMessageRequest>, as = "alice") =>
      unary<SendMessageResponse>((cb) =>
        api.sendMessage(
          SendMessageRequest.fromPartial({ appId: APP, operater: as, fromId: as, toId: "bob", ...req }),
          signed(as),
          cb,
        ),
      );
    const apiGroup = (req: Partial<SendGroupMessageRequest>, as = "alice") =>
      unary<SendGroupMessageResponse>((cb) =>
        api.sendGroupMessage(
          SendGroupMessageRequest.fromPartial({
            appId: APP,
            operater: as,
            fromId: as,
            groupId: CREW,
            ...req,
          }),
          signed(as),
          cb,
        ),
      );
    const base = { messageId: "api", messageBody: "hi", extra: "x" };
    const p2pRequest = SendMessageRequest.fromPartial({
      appId: APP,
      operater: "alice",
      fromId: "alice",
      toId: "bob",
      ...base,
    });
    const groupRequest = SendGroupMessageRequest.fromPartial({
      appId: APP,
      operater: "alice",
      fromId: "alice",
      groupId: CREW,
      ...base,
    });
    const wrong: string[] = [];
    for (const path of stringPaths(p2pRequest)) {
      const got = await refusal(apiSend(withNul(p2pRequest, path)));
      if (got !== param(`${protoPath(path)} contains a NUL character`)) wrong.push(`p2p ${path}: ${got}`);
    }
    for (const path of stringPaths(groupRequest)) {
      const got = await refusal(apiGroup(withNul(groupRequest, path)));
      if (got !== param(`${protoPath(path)} contains a NUL character`)) wrong.push(`group ${path}: ${got}`);
    }
    expect(wrong).toEqual([]);

    const long = `${LONG_B}x`;
    expect(await refusal(apiSend({ messageId: id("a"), fromId: long }, ADMIN))).toBe(
      param("from_id is longer than 50 characters"),
    );
    expect(await refusal(apiSend({ messageId: id("a"), toId: long }))).toBe(
      param("to_id is longer than 50 characters"),
    );
    expect(await refusal(apiGroup({ messageId: id("a"), groupId: long }))).toBe(
      param("group_id is longer than 50 characters"),
    );
    expect(await refusal(apiSend({ messageId: "m".repeat(101) }))).toBe(
      param("message_id is longer than 100 characters"),
    );
    expect(await refusal(apiSend({ messageId: id("a"), messageBody: chars(5001, "b") }))).toBe(
      param("message_body is longer than 5000 characters"),
    );
    expect(await refusal(apiGroup({ messageId: id("a"), extra: chars(1001, "e") }))).toBe(
      param("extra is longer than 1000 characters"),
    );
    expect(await refusal(apiSend({ messageId: id("a"), messageTime: -1 }))).toBe(
      param("message_time must be epoch milliseconds"),
    );

    const limit = {
      messageBody: chars(MESSAGE_LIMITS.body, "api"),
      extra: chars(MESSAGE_LIMITS.extra, "api"),
      messageTime: Number.MAX_SAFE_INTEGER,
    };
    const p2p = await apiSend({ ...limit, messageId: `p${"m".repeat(99)}`, toId: LONG_B });
    const group = await apiGroup({ ...limit, messageId: `g${"m".repeat(99)}`, groupId: LONG_GROUP });
    for (const [ack, to] of [
      [p2p, LONG_B],
      [group, LONG_GROUP],
    ] as const) {
      acked.add(ack.messageKey);
      expect(await stored(ack.messageKey)).toMatchObject({
        fromId: "alice",
        toId: to,
        ...limit,
        messageTime: BigInt(limit.messageTime),
      });
    }
  });

  it("stores every ACKed message and nothing else; the store refused none", async () => {
    for (const key of acked) await stored(key);
    expect(await h.database.db.messageBody.count()).toBe(acked.size);
    for (const queue of ["p2p", "group"] as const) {
      expect(store.counts(queue)).toMatchObject({ rejected: 0, invalid: 0, splits: 0 });
    }
  });
});
