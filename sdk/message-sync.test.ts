import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SyncedMessage } from "../gen/ts/whaleshark/v1/sync.js";
import { FakeGateway, SIGN_OK, until } from "../test/wire/fake-gateway.js";
import { ClientError } from "./client-error.js";
import { type ChatMessage, WhaleSharkClient } from "./index.js";
import { inConversationOrder, isBusyFailure, SYNC_DEFAULTS } from "./message-sync.js";
import type { ClientOptions } from "./options.js";
import { tcpTransport } from "./transport/tcp.js";

/** A messageKey of second `s` (spec §5.10 layout: seconds << 21 | worker << 16 | counter). */
const key = (s: number, n: number) => s * 2 ** 21 + n;

/** A stored message as the gateway's sync answers carry it. */
function stored(k: number, from: string, to: string, sequence: number, group = false): SyncedMessage {
  return {
    appId: 10001,
    conversationType: group ? 1 : 0,
    extra: "",
    fromId: from,
    groupId: group ? to : "",
    messageBody: `body ${k}`,
    messageId: `m-${k}`,
    messageKey: k,
    messageSequence: sequence,
    messageTime: 1_700_000_000_000,
    recalled: false,
    toId: group ? "" : to,
  };
}

/** The same message as a push (1103 / 2104 data). */
function pushed(m: SyncedMessage): object {
  const { conversationType, recalled, groupId, ...rest } = m;
  return conversationType === 1 ? { ...rest, groupId, memberIds: [], toId: "" } : rest;
}

let gateway: FakeGateway;
/** What the fake store holds, in messageKey order. */
let store: SyncedMessage[];
const clients: WhaleSharkClient[] = [];

beforeEach(async () => {
  gateway = await FakeGateway.start();
  store = [];
  gateway.syncMessages = (req) => {
    const after = Number(req.lastMessageKey);
    const limit = Number(req.maxLimit);
    const rest = store.filter((m) => m.messageKey > after);
    return {
      completed: rest.length <= limit,
      lastMessageKey: after,
      maxMessageKey: store[store.length - 1]?.messageKey ?? 0,
      messages: rest.slice(0, limit),
    };
  };
  gateway.syncConversation = (req) => {
    const peer = String(req.toId);
    const rows = store.filter((m) =>
      Number(req.conversationType) === 1
        ? m.groupId === peer
        : m.groupId === "" && (m.fromId === peer || m.toId === peer),
    );
    const rest = rows.filter((m) => m.messageSequence > Number(req.lastSequence));
    return {
      completed: true,
      conversationType: Number(req.conversationType),
      lastSequence: Number(req.lastSequence),
      maxSequence: rows[rows.length - 1]?.messageSequence ?? 0,
      messages: rest,
      toId: peer,
    };
  };
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway.close();
});

function client(overrides: Partial<ClientOptions> = {}) {
  const c = new WhaleSharkClient({
    transport: tcpTransport({ host: "127.0.0.1", port: gateway.tcpPort }),
    appId: 10001,
    userId: "alice",
    clientType: 3,
    imei: "phone",
    userSign: SIGN_OK,
    resend: { initialMs: 40, maxMs: 200, jitter: 0, maxAttempts: 4 },
    reconnect: { initialMs: 20, maxMs: 200, jitter: 0 },
    ...overrides,
    sync:
      overrides.sync === false
        ? false
        : {
            settleMs: 0,
            gapRetryMs: 20,
            retry: { initialMs: 30, maxMs: 100, factor: 2, jitter: 0 },
            busyRetry: { initialMs: 30, maxMs: 100, factor: 2, jitter: 0 },
            ...overrides.sync,
          },
  });
  clients.push(c);
  const messages: ChatMessage[] = [];
  const synced: Array<{ cursor: number; messages: number }> = [];
  c.on("message", (m) => messages.push(m));
  c.on("synced", (e) => synced.push(e));
  const keys = () => messages.map((m) => m.message.messageKey);
  return { c, messages, synced, keys };
}

describe("catching up after login", () => {
  it("pages from the cursor until completed, delivers each message once and holds pushes behind it", async () => {
    store = Array.from({ length: 7 }, (_, i) =>
      stored(key(100, i), i % 2 ? "bob" : "alice", i % 2 ? "alice" : "bob", i + 1),
    );
    store.push(stored(key(101, 0), "carol", "g1", 1, true));
    let answered = 0;
    const answer = gateway.syncMessages;
    gateway.syncMessages = (req) => {
      // The first page arrives late: a push in between must wait behind the catch-up.
      if (answered++ === 0) {
        gateway.connections[0]?.push(1103, pushed(stored(key(102, 0), "bob", "alice", 8)));
        setTimeout(() => gateway.connections[0]?.push(9008, answer(req) as object), 50);
        return null;
      }
      return answer(req);
    };
    const { c, keys, messages, synced } = client({ sync: { pageSize: 3 } });
    await c.connect();
    await until(() => synced.length === 1);
    expect(gateway.framesOf(9007).map((r) => r.data)).toEqual([
      { lastMessageKey: 0, maxLimit: 3 },
      { lastMessageKey: key(100, 2), maxLimit: 3 },
      { lastMessageKey: key(100, 5), maxLimit: 3 },
    ]);
    expect(keys()).toEqual([...store.map((m) => m.messageKey), key(102, 0)]);
    expect(messages[0]).toMatchObject({ kind: "p2p", fromSelf: true, synced: true, recalled: false });
    expect(messages[7]).toMatchObject({
      kind: "group",
      synced: true,
      message: { groupId: "g1", fromId: "carol" },
    });
    expect(messages[8]).toMatchObject({ synced: false, fromSelf: false });
    // The cursor covers the push let through at the end of the catch-up too.
    expect(synced[0]).toEqual({ cursor: key(102, 0), messages: 8 });
    expect(c.syncCursor).toBe(key(102, 0));
  });

  it("starts from initialSyncCursor minus the overlap, dropping what it already delivered", async () => {
    store = [stored(key(200, 0), "bob", "alice", 1), stored(key(203, 0), "bob", "alice", 2)];
    const { c, keys, synced } = client({ initialSyncCursor: key(203, 0) });
    await c.connect();
    await until(() => synced.length === 1);
    // 5 s of keys before the cursor are read again (a write that came late, a lost push).
    expect(gateway.framesOf(9007)[0]?.data).toEqual({ lastMessageKey: key(198, 0), maxLimit: 100 });
    expect(keys()).toEqual([key(200, 0), key(203, 0)]);

    // After a reconnect the cursor is where delivery got to; known messages are not emitted again.
    store.push(stored(key(209, 0), "bob", "alice", 3));
    gateway.killAll();
    await until(() => synced.length === 2);
    expect(gateway.framesOf(9007)[1]?.data).toEqual({ lastMessageKey: key(198, 0), maxLimit: 100 });
    expect(keys()).toEqual([key(200, 0), key(203, 0), key(209, 0)]);
    expect(c.syncCursor).toBe(key(209, 0));
  });

  it("settles a send that failed as unknown: stored after all, the catch-up delivers it as this user's", async () => {
    gateway.ackPolicy = () => "drop"; // the ACKs are lost (e.g. an overloaded gateway answering too late)
    const { c, messages, synced } = client({
      resend: { initialMs: 40, maxMs: 80, jitter: 0, maxPendingMs: 200 },
    });
    await c.connect();
    await until(() => synced.length === 1);
    const error = await c
      .sendP2P({ toId: "bob", messageBody: "maybe", messageId: "m-lost-ack" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "unknown" });
    store.push({ ...stored(key(400, 0), "alice", "bob", 1), messageId: "m-lost-ack" });
    gateway.killAll(); // the next catch-up (after the reconnect) finds it
    await until(() => messages.length === 1);
    expect(messages[0]).toMatchObject({
      kind: "p2p",
      fromSelf: true,
      synced: true,
      message: { messageId: "m-lost-ack", messageKey: key(400, 0) },
    });
  });

  it("shows recalled messages as recalled with an empty body", async () => {
    store = [{ ...stored(key(300, 0), "bob", "alice", 1), recalled: true, messageBody: "" }];
    const { c, messages, synced } = client();
    await c.connect();
    await until(() => synced.length === 1);
    expect(messages[0]).toMatchObject({ recalled: true, synced: true, message: { messageBody: "" } });
  });

  it("retries a catch-up the store could not answer (9006 / 71000) and lets pushes through meanwhile", async () => {
    let down = true;
    const answer = gateway.syncMessages;
    gateway.syncMessages = (req) => {
      if (!down) return answer(req);
      gateway.connections[0]?.push(9006, {
        code: 71000,
        data: { command: 9007 },
        msg: "没有可用的服务: store unavailable",
        ok: false,
      });
      return null;
    };
    store = [stored(key(400, 0), "bob", "alice", 1)];
    const { c, keys, synced } = client();
    const errors: Error[] = [];
    c.on("error", (e) => errors.push(e));
    await c.connect();
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ reason: "sync-refused", code: 71000 });
    gateway.connections[0]?.push(1103, pushed(stored(key(400, 1), "carol", "alice", 1)));
    await until(() => keys().length === 1); // not held while the store is down
    down = false;
    await until(() => synced.length === 1);
    expect(keys()).toEqual([key(400, 1), key(400, 0)]);
    expect(c.state).toBe("online");
  });

  /** Makes the next `codes.length` catch-ups fail: a number is a 9006 with that code, null no answer. */
  function failNext(codes: Array<number | null>) {
    const answer = gateway.syncMessages;
    gateway.syncMessages = (req) => {
      const code = codes.shift();
      if (code === undefined) return answer(req);
      if (code !== null) {
        gateway.connections[0]?.push(9006, { code, data: { command: 9007 }, msg: "refused", ok: false });
      }
      return null;
    };
  }

  it("retries an overloaded server's refusals (71000, 90000) with busyRetry, and never gives up", async () => {
    failNext([71000, 90000, 71000, 90000, 71000, 71000]);
    store = [stored(key(450, 0), "bob", "alice", 1)];
    const { c, keys, synced } = client({
      sync: {
        retry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 }, // would stall the test
        busyRetry: { initialMs: 5, maxMs: 40, factor: 2, jitter: 1 },
      },
    });
    const errors: Error[] = [];
    c.on("error", (e) => errors.push(e));
    await c.connect();
    await until(() => synced.length === 1);
    expect(errors.map((e) => (e as { code?: number }).code)).toEqual([
      71000, 90000, 71000, 90000, 71000, 71000,
    ]);
    expect(gateway.framesOf(9007)).toHaveLength(7);
    expect(keys()).toEqual([key(450, 0)]);
  });

  it("retries a catch-up that got no answer in time with busyRetry", async () => {
    failNext([null]);
    store = [stored(key(460, 0), "bob", "alice", 1)];
    const { c, keys, synced } = client({
      sync: {
        requestTimeoutMs: 50,
        retry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 },
        busyRetry: { initialMs: 10, maxMs: 40, factor: 2, jitter: 0 },
      },
    });
    const errors: Error[] = [];
    c.on("error", (e) => errors.push(e));
    await c.connect();
    await until(() => synced.length === 1);
    expect(errors[0]).toMatchObject({ reason: "sync-timeout" });
    expect(keys()).toEqual([key(460, 0)]);
  });

  it("retries other refusals with retry, not busyRetry", async () => {
    failNext([60005]);
    store = [stored(key(470, 0), "bob", "alice", 1)];
    const { c, keys, synced } = client({
      sync: {
        retry: { initialMs: 10, maxMs: 40, factor: 2, jitter: 0 },
        busyRetry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 }, // would stall the test
      },
    });
    c.on("error", () => {});
    await c.connect();
    await until(() => synced.length === 1);
    expect(keys()).toEqual([key(470, 0)]);
  });

  it("sends nothing and delivers as pushed with sync off", async () => {
    const { c, keys } = client({ sync: false });
    await c.connect();
    const conn = gateway.connections[0];
    conn?.push(1103, pushed(stored(key(500, 0), "bob", "alice", 1)));
    conn?.push(1103, pushed(stored(key(500, 1), "bob", "alice", 5)));
    await until(() => keys().length === 2);
    expect(gateway.framesOf(9007)).toHaveLength(0);
    expect(gateway.framesOf(9009)).toHaveLength(0);
  });

  it("refuses an initialSyncCursor that is not a messageKey", () => {
    expect(() => client({ initialSyncCursor: -1 })).toThrow(RangeError);
  });
});

describe("gaps in a conversation", () => {
  it("fetches the missing sequence (9009) and delivers the conversation in order", async () => {
    const { c, keys, synced } = client();
    await c.connect();
    await until(() => synced.length === 1);
    const conn = gateway.connections[0];
    conn?.push(1103, pushed(stored(key(600, 0), "bob", "alice", 1)));
    store = [stored(key(600, 1), "bob", "alice", 2)]; // stored, its push lost
    conn?.push(1103, pushed(stored(key(600, 2), "bob", "alice", 3)));
    conn?.push(2104, pushed(stored(key(600, 3), "carol", "g1", 1, true))); // another conversation flows on
    await until(() => keys().length === 4);
    expect(keys()).toEqual([key(600, 0), key(600, 3), key(600, 1), key(600, 2)]);
    expect(gateway.framesOf(9009).map((r) => r.data)).toEqual([
      { conversationType: 0, toId: "bob", lastSequence: 1, maxLimit: 100 },
    ]);
  });

  it("waits for a message the store has not written yet, then gives up on a sequence never used", async () => {
    const { c, keys, synced } = client();
    await c.connect();
    await until(() => synced.length === 1);
    const conn = gateway.connections[0];
    conn?.push(2104, pushed(stored(key(700, 0), "carol", "g1", 1, true)));
    conn?.push(2104, pushed(stored(key(700, 9), "carol", "g1", 4, true)));
    await until(() => gateway.framesOf(9009).length === 1);
    store = [stored(key(700, 1), "carol", "g1", 2, true)]; // written late; 3 never comes
    await until(() => keys().length === 3, 2_000);
    expect(keys()).toEqual([key(700, 0), key(700, 1), key(700, 9)]);
    expect(gateway.framesOf(9009).length).toBeGreaterThanOrEqual(3);
    expect(gateway.framesOf(9009)[0]?.data).toMatchObject({
      conversationType: 1,
      toId: "g1",
      lastSequence: 1,
    });
  });

  it("flags a message that arrives after its gap was given up on as late, never delivering it out of order unflagged", async () => {
    // A domain died between assigning sequence 2 and publishing it: the store holds 1 and 3, the
    // device gets 3 after skipping 2, and a retry publishes 2 only after the claim expired.
    const { c, messages, synced } = client();
    await c.connect();
    await until(() => synced.length === 1);
    const conn = gateway.connections[0];
    store = [stored(key(720, 0), "bob", "alice", 1), stored(key(720, 2), "bob", "alice", 3)];
    conn?.push(1103, pushed(stored(key(720, 0), "bob", "alice", 1)));
    conn?.push(1103, pushed(stored(key(720, 2), "bob", "alice", 3)));
    await until(() => messages.length === 2);
    const late = stored(key(730, 0), "bob", "alice", 2); // published 10 s later, by the retry
    store.push(late);
    conn?.push(1103, pushed(late));
    conn?.push(1103, pushed(stored(key(730, 1), "bob", "alice", 4)));
    // a redelivery of the late one (the sender's resend) is dropped by messageKey
    conn?.push(1103, pushed(late));
    await until(() => messages.length === 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(messages.map((m) => [m.message.messageSequence, m.late])).toEqual([
      [1, false],
      [3, false],
      [2, true],
      [4, false],
    ]);
    // What the app releases unflagged is strictly increasing; with the late one in its place, all of it.
    const inOrder = messages.filter((m) => !m.late).map((m) => m.message.messageSequence);
    expect(inOrder).toEqual([1, 3, 4]);
  });

  it("skips a sequence jump at once when the store's answer starts beyond the gap", async () => {
    const { c, keys, synced } = client({ sync: { gapAttempts: 10, gapRetryMs: 5_000 } });
    await c.connect();
    await until(() => synced.length === 1);
    const conn = gateway.connections[0];
    const later = stored(key(750, 1), "bob", "alice", 2001); // a new sequence block: 2..2000 never used
    store = [later];
    conn?.push(1103, pushed(stored(key(750, 0), "bob", "alice", 1)));
    conn?.push(1103, pushed(later));
    await until(() => keys().length === 2);
    expect(gateway.framesOf(9009)).toHaveLength(1); // no retries
  });

  it("on a device syncing from cursor 0, holds a conversation's first message above 1 and fills from 0", async () => {
    const { c, keys, messages, synced } = client();
    await c.connect();
    await until(() => synced.length === 1);
    // Stored while the device was offline (or after its catch-up read): it never saw them.
    store = [stored(key(850, 0), "bob", "alice", 1), stored(key(850, 1), "bob", "alice", 2)];
    gateway.connections[0]?.push(1103, pushed(stored(key(850, 2), "bob", "alice", 3)));
    await until(() => keys().length === 3);
    expect(keys()).toEqual([key(850, 0), key(850, 1), key(850, 2)]);
    expect(messages.map((m) => m.synced)).toEqual([true, true, false]);
    expect(gateway.framesOf(9009).map((r) => r.data)).toEqual([
      { conversationType: 0, toId: "bob", lastSequence: 0, maxLimit: 100 },
    ]);
  });

  it("skips a group's history before the member's join point at once", async () => {
    const { c, keys, synced } = client({ sync: { gapAttempts: 10, gapRetryMs: 5_000 } });
    await c.connect();
    await until(() => synced.length === 1);
    // alice joined g1 at sequence 50: the store answers from 51 on.
    store = [stored(key(860, 0), "carol", "g1", 51, true), stored(key(860, 1), "carol", "g1", 52, true)];
    gateway.connections[0]?.push(2104, pushed(stored(key(860, 1), "carol", "g1", 52, true)));
    await until(() => keys().length === 2, 1_000);
    expect(keys()).toEqual([key(860, 0), key(860, 1)]);
    expect(gateway.framesOf(9009).map((r) => r.data)).toEqual([
      { conversationType: 1, toId: "g1", lastSequence: 0, maxLimit: 100 },
    ]);
  });

  it("on a device resuming from a saved cursor, releases a conversation's first message at once", async () => {
    const { c, keys, synced } = client({ initialSyncCursor: key(100, 0) });
    await c.connect();
    await until(() => synced.length === 1);
    store = [stored(key(870, 0), "bob", "alice", 4)]; // earlier ones this device may have shown already
    gateway.connections[0]?.push(1103, pushed(stored(key(870, 1), "bob", "alice", 5)));
    await until(() => keys().length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(keys()).toEqual([key(870, 1)]);
    expect(gateway.framesOf(9009)).toHaveLength(0);
  });

  it("counts this device's own ACKed sends, so the next message is no gap", async () => {
    const { c, keys, synced } = client();
    await c.connect();
    await until(() => synced.length === 1);
    const conn = gateway.connections[0];
    conn?.push(1103, pushed(stored(key(800, 0), "bob", "alice", 1)));
    gateway.ackPolicy = () => "drop";
    const sent = c.sendP2P({ toId: "bob", messageBody: "mine", messageId: "own-1" });
    await until(() => gateway.framesOf(1103).length === 1);
    const ackData = { messageId: "own-1", messageKey: key(800, 1), messageSequence: 2 };
    conn?.push(1046, { code: 200, data: ackData, msg: "success", ok: true });
    await sent;
    conn?.push(1103, pushed(stored(key(800, 5), "bob", "alice", 3)));
    await until(() => keys().length === 2);
    expect(keys()).toEqual([key(800, 0), key(800, 5)]);
    expect(gateway.framesOf(9009)).toHaveLength(0);
  });
});

describe("inConversationOrder", () => {
  it("keeps messageKey order across conversations and sequence order within each", () => {
    const page = [
      stored(1, "bob", "alice", 5),
      stored(2, "carol", "g1", 1, true),
      stored(3, "bob", "alice", 4),
      stored(4, "alice", "bob", 6),
    ];
    const ordered = inConversationOrder("alice", page).map((m) => [m.messageKey, m.messageSequence]);
    expect(ordered).toEqual([
      [3, 4],
      [2, 1],
      [1, 5],
      [4, 6],
    ]);
  });
});

describe("isBusyFailure and the default busyRetry", () => {
  it("counts timeouts and 71000 / 90000 refusals as overload, other refusals not", () => {
    expect(isBusyFailure(new ClientError("sync-timeout"))).toBe(true);
    expect(isBusyFailure(new ClientError("sync-refused", { code: 71000, msg: "store unavailable" }))).toBe(
      true,
    );
    expect(isBusyFailure(new ClientError("sync-refused", { code: 90000, msg: "internal" }))).toBe(true);
    expect(isBusyFailure(new ClientError("sync-refused", { code: 60005, msg: "no" }))).toBe(false);
  });

  it("spreads retries after an overload fully (0 to twice the step) and waits longer than retry on average", () => {
    const { busyRetry, retry } = SYNC_DEFAULTS;
    expect(busyRetry.jitter).toBe(1);
    expect(busyRetry.initialMs).toBeGreaterThan(retry.initialMs);
    expect(busyRetry.maxMs).toBeGreaterThanOrEqual(retry.maxMs);
  });
});
