import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  type BatchSyncMessageResponse,
  HistoryServiceClient,
  HistoryServiceService,
  type SyncDeviceMessagesRequest,
  type SyncDeviceMessagesResponse,
} from "../../../gen/ts/whaleshark/v1/history_service.js";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { isImError } from "../../../lib/errors/index.js";
import { AppAuthenticator, INTERNAL_SECRET_METADATA, InternalAuthenticator } from "../../../lib/grpc/auth.js";
import { errorCodeOf } from "../../../lib/grpc/errors.js";
import type { Database } from "../../../lib/ports/db.js";
import { historyGrpcHandlers, storeBusy } from "./history-grpc.js";
import { HistoryService } from "./history-service.js";

const SECRET = "history-grpc-test-secret-0123";
const logger = pino({ level: "silent" });

/**
 * A stand-in database that counts the device-sync statements run on it; each waits for
 * `open()` while `held` is set, so a test can keep the store's only turn busy.
 */
function countingDb() {
  let queries = 0;
  let held: Promise<void> | undefined;
  let open = () => {};
  const db = {
    $queryRaw: async () => {
      queries++;
      if (held !== undefined) await held;
      return [{ message_key: null, kind: 1 }];
    },
  } as unknown as Database;
  return {
    db,
    queries: () => queries,
    hold() {
      held = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      held = undefined;
      open();
    },
  };
}

let server: grpc.Server | undefined;
let client: HistoryServiceClient | undefined;

afterEach(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  server = undefined;
  client = undefined;
});

/** HistoryService over real gRPC, one call at a time, at most `waiting` more queued. */
async function start(db: Database, waiting = 10) {
  server = new grpc.Server();
  const service = new HistoryService(
    async () => db,
    async () => false,
  );
  const env = {
    auth: new AppAuthenticator({ apps: {}, kv: new MemoryKvStore(), userType: async () => null }),
    internal: new InternalAuthenticator(SECRET),
    logger,
  };
  server.addService(HistoryServiceService, historyGrpcHandlers(service, env, { running: 1, waiting }));
  const port = await new Promise<number>((resolve, reject) =>
    server?.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  client = new HistoryServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** A gateway's SyncDeviceMessages with a deadline `timeoutMs` from now; resolves with the outcome. */
function sync(timeoutMs: number) {
  const metadata = new grpc.Metadata();
  metadata.set(INTERNAL_SECRET_METADATA, SECRET);
  const req: SyncDeviceMessagesRequest = {
    appId: 10001,
    operater: "alice",
    clientType: 3,
    imei: "phone",
    lastSequence: 0,
    maxLimit: 0,
  };
  return new Promise<{ error: grpc.ServiceError | null; res?: SyncDeviceMessagesResponse }>((resolve) =>
    client?.syncDeviceMessages(req, metadata, { deadline: Date.now() + timeoutMs }, (error, res) =>
      resolve({ error, res }),
    ),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("HistoryService behind its call gate", () => {
  it("answers a call when a turn is free", async () => {
    const fake = countingDb();
    await start(fake.db);
    const { error, res } = await sync(5_000);
    expect(error).toBeNull();
    expect(res).toMatchObject({ completed: true, maxSequence: 0, dataList: [] });
    expect(fake.queries()).toBe(1);
  });

  it("runs no query for a call whose deadline passed while it waited for its turn", async () => {
    const fake = countingDb();
    await start(fake.db);
    fake.hold();
    const first = sync(5_000);
    await sleep(100); // the first call holds the only turn, inside its query
    expect(fake.queries()).toBe(1);
    const late = await sync(150); // waits, and its gateway gives up
    expect(late.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    fake.release();
    expect((await first).error).toBeNull();
    await sleep(50);
    expect(fake.queries()).toBe(1); // the expired call was dropped, not run for nobody
    const after = await sync(5_000); // and the turn it would have taken is free again
    expect(after.error).toBeNull();
    expect(fake.queries()).toBe(2);
  });

  it("runs no query for a call its client cancelled while it waited", async () => {
    const fake = countingDb();
    await start(fake.db);
    fake.hold();
    const first = sync(5_000);
    await sleep(100);
    const metadata = new grpc.Metadata();
    metadata.set(INTERNAL_SECRET_METADATA, SECRET);
    const req = { appId: 10001, operater: "bob", clientType: 3, imei: "phone", lastSequence: 0, maxLimit: 0 };
    const cancelled = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client?.syncDeviceMessages(req as SyncDeviceMessagesRequest, metadata, (error) =>
        resolve(error),
      );
      setTimeout(() => call?.cancel(), 100);
    });
    expect((await cancelled)?.code).toBe(grpc.status.CANCELLED);
    await sleep(50);
    fake.release();
    expect((await first).error).toBeNull();
    await sleep(50);
    expect(fake.queries()).toBe(1);
  });

  it("refuses at once with 71000 (UNAVAILABLE) when the queue is full", async () => {
    const fake = countingDb();
    await start(fake.db, 1);
    fake.hold();
    const first = sync(5_000);
    await sleep(100);
    const queued = sync(5_000);
    await sleep(50);
    const startedAt = Date.now();
    const refused = await sync(5_000);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(errorCodeOf(refused.error as grpc.ServiceError)).toBe(71000);
    fake.release();
    expect((await first).error).toBeNull();
    expect((await queued).error).toBeNull();
    expect(fake.queries()).toBe(2);
  });

  it("answers 71000 instead of 90000 when no database connection could be had", async () => {
    const db = {
      $queryRaw: async () => {
        throw new Error("timeout exceeded when trying to connect");
      },
    } as unknown as Database;
    await start(db);
    const { error } = await sync(5_000);
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(errorCodeOf(error as grpc.ServiceError)).toBe(71000);
  });
});

describe("HistoryService.BatchSyncMessage over gRPC", () => {
  /** A BatchSyncMessage call; `internal` carries the gateway secret, else no credentials. */
  function batch(
    conversations: Array<{ conversationId: string; conversationType: number }>,
    internal = true,
  ) {
    const metadata = new grpc.Metadata();
    if (internal) metadata.set(INTERNAL_SECRET_METADATA, SECRET);
    const req = {
      appId: 10001,
      operater: "alice",
      clientType: 3,
      imei: "phone",
      userId: "",
      maxCount: 0,
      conversations: conversations.map((c) => ({ ...c, sequence: 0 })),
    };
    return new Promise<{ error: grpc.ServiceError | null; res?: BatchSyncMessageResponse }>((resolve) =>
      client?.batchSyncMessage(req, metadata, (error, res) => resolve({ error, res })),
    );
  }

  it("is served behind the same authentication and list bound as BatchSyncMessages", async () => {
    const fake = countingDb();
    await start(fake.db);
    const skipped = await batch([
      { conversationId: "bob", conversationType: 0 },
      { conversationId: "x", conversationType: 3 },
    ]);
    expect(skipped.error).toBeNull();
    expect(skipped.res).toEqual({ conversationList: [] });
    expect(fake.queries()).toBe(0); // skipped conversations are never read
    const anonymous = await batch([], false);
    expect(errorCodeOf(anonymous.error as grpc.ServiceError)).toBe(60001);
    const many = Array.from({ length: 101 }, () => ({ conversationId: "bob", conversationType: 1 }));
    const tooMany = await batch(many);
    expect(errorCodeOf(tooMany.error as grpc.ServiceError)).toBe(90001);
    expect(tooMany.error?.details).toMatch(/conversations holds at most 100 items/);
  });
});

describe("storeBusy", () => {
  it("turns pg's no-free-connection errors into 71000 and leaves other errors alone", () => {
    for (const text of [
      "timeout exceeded when trying to connect",
      "Connection terminated due to connection timeout",
    ]) {
      const mapped = storeBusy(new Error(text));
      expect(isImError(mapped) && mapped.code).toBe(71000);
    }
    const other = new Error("relation does not exist");
    expect(storeBusy(other)).toBe(other);
  });
});
