import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isImError } from "../../../lib/errors/index.js";
import { grpcStatusOf } from "../../../lib/grpc/errors.js";
import {
  type CallbackHit,
  type CallbackReceiver,
  type CallbackReply,
  startCallbackReceiver,
} from "../../../lib/testing/callback-receiver.js";
import { Callbacks } from "./callbacks.js";
import type { CallbacksConfig } from "./events.js";

let receiver: CallbackReceiver;
let url: string;
let hits: CallbackHit[];
/** What the test server does with each request. */
let reply: CallbackReply;

beforeEach(async () => {
  receiver = await startCallbackReceiver();
  ({ url, hits } = receiver);
  reply = (_req, res) => res.end(JSON.stringify({ code: 200, msg: "success", data: null, ok: true }));
  receiver.reply = (req, res, n, hit) => reply(req, res, n, hit);
});

afterEach(async () => {
  await receiver.close();
});

function callbacks(overrides: Partial<CallbacksConfig> = {}): Callbacks {
  const config = {
    url,
    timeoutMs: 300,
    beforeFailure: "open",
    afterMaxAttempts: 3,
    afterRetryDelayMs: 10,
    afterMaxPending: 100,
    modifyUserAfterCallback: true,
    addFriendBeforeCallback: true,
    addFriendAfterCallback: true,
    modifyFriendBeforeCallback: true,
    modifyFriendAfterCallback: true,
    deleteFriendAfterCallback: true,
    addFriendShipBlackAfterCallback: true,
    deleteFriendShipBlackAfterCallback: false,
    createGroupAfterCallback: true,
    modifyGroupAfterCallback: true,
    destroyGroupAfterCallback: true,
    transferGroupAfterCallback: true,
    addGroupMemberBeforeCallback: true,
    addGroupMemberAfterCallback: true,
    deleteGroupMemberAfterCallback: true,
    sendMessageBeforeCallback: true,
    sendMessageAfterCallback: true,
    ...overrides,
  } satisfies CallbacksConfig;
  return new Callbacks(config, pino({ level: "silent" }));
}

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isImError(error)) throw new Error(`expected an ImError, got ${String(error)}`);
  return { code: error.code, message: error.message, status: grpcStatusOf(error) };
}

describe("before-callbacks", () => {
  it("POSTs the JSON body with appId and command, and returns the reply data on 200", async () => {
    reply = (_req, res) => res.end(JSON.stringify({ code: 200, msg: "ok", data: [{ memberId: "x" }] }));
    const data = await callbacks().before(10001, "group.member.add.before", { groupId: "g1" });
    expect(data).toEqual([{ memberId: "x" }]);
    expect(hits).toHaveLength(1);
    expect(hits[0]?.query.get("appId")).toBe("10001");
    expect(hits[0]?.query.get("command")).toBe("group.member.add.before");
    expect(hits[0]?.contentType).toBe("application/json; charset=utf-8");
    expect(hits[0]?.body).toEqual({ groupId: "g1" });
  });

  it("vetoes with the app server's code and message", async () => {
    reply = (_req, res) => res.end(JSON.stringify({ code: 30002, msg: "nope", data: null }));
    expect(await refusal(callbacks().before(1, "friend.add.before", {}))).toEqual({
      code: 30002,
      message: "nope",
      status: 6, // ALREADY_EXISTS, the catalogue's status for 30002
    });
    reply = (_req, res) => res.end(JSON.stringify({ code: 77777, msg: "custom", data: null }));
    expect(await refusal(callbacks().before(1, "friend.update.before", {}))).toEqual({
      code: 77777,
      message: "custom",
      status: 9, // FAILED_PRECONDITION for codes outside the catalogue
    });
  });

  it("fails open on a non-2xx status, garbage or an unreachable server", async () => {
    reply = (_req, res) => {
      res.statusCode = 500;
      res.end("boom");
    };
    await expect(callbacks().before(1, "friend.add.before", {})).resolves.toBeUndefined();
    reply = (_req, res) => res.end("<html>");
    await expect(callbacks().before(1, "friend.add.before", {})).resolves.toBeUndefined();
    await expect(
      callbacks({ url: "http://127.0.0.1:1/cb" }).before(1, "friend.add.before", {}),
    ).resolves.toBeUndefined();
  });

  it("fails closed with 71000 when configured so", async () => {
    reply = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    const closed = callbacks({ beforeFailure: "closed" });
    expect((await refusal(closed.before(1, "message.send.before", {}))).code).toBe(71000);
  });

  it("treats a slow server as a failure after timeoutMs", async () => {
    reply = (_req, res) => {
      setTimeout(() => res.end(JSON.stringify({ code: 40000, msg: "late" })), 1000);
    };
    const started = Date.now();
    await expect(callbacks({ timeoutMs: 150 }).before(1, "friend.add.before", {})).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(900);
    const closed = callbacks({ timeoutMs: 150, beforeFailure: "closed" });
    expect((await refusal(closed.before(1, "friend.add.before", {}))).code).toBe(71000);
  });

  it("sends nothing when the event's flag is off or there is no URL", async () => {
    await callbacks({ addFriendBeforeCallback: false }).before(1, "friend.add.before", {});
    await callbacks({ url: undefined }).before(1, "friend.add.before", {});
    expect(hits).toHaveLength(0);
  });
});

describe("after-callbacks", () => {
  it("are sent in the background and retried on failure until they succeed", async () => {
    reply = (_req, res, n) => {
      res.statusCode = n < 3 ? 502 : 200;
      res.end("{}");
    };
    const cb = callbacks();
    cb.after(10001, "group.transfer.after", { groupId: "g1", ownerId: "u2" });
    expect(hits).toHaveLength(0); // not awaited by the caller
    await cb.drain();
    expect(hits).toHaveLength(3);
    expect(hits[2]?.query.get("command")).toBe("group.transfer.after");
    expect(hits[2]?.body).toEqual({ groupId: "g1", ownerId: "u2" });
  });

  it("give up after afterMaxAttempts", async () => {
    reply = (_req, res) => {
      res.statusCode = 500;
      res.end();
    };
    const cb = callbacks({ afterMaxAttempts: 2 });
    cb.after(1, "message.send.after", {});
    await cb.drain();
    expect(hits).toHaveLength(2);
  });

  it("retry a timed-out attempt", async () => {
    reply = (_req, res, n) => {
      if (n === 1) setTimeout(() => res.end("{}"), 500);
      else res.end("{}");
    };
    const cb = callbacks({ timeoutMs: 100 });
    cb.after(1, "friend.update.after", { fromId: "a" });
    await cb.drain();
    expect(hits).toHaveLength(2);
  });

  it("use one flag per event (D8) and drop beyond afterMaxPending", async () => {
    const cb = callbacks({ afterMaxPending: 1 });
    cb.after(1, "black.delete", {}); // its flag is off in this config
    cb.after(1, "black.add.after", {});
    cb.after(1, "black.add.after", {}); // dropped: one already pending
    await cb.drain();
    expect(hits.map((h) => h.query.get("command"))).toEqual(["black.add.after"]);
  });
});
