import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { HistoryServiceService, SyncP2PMessagesRequest } from "../../gen/ts/whaleshark/v1/history_service.js";
import { ImError } from "../../lib/errors/index.js";
import { INTERNAL_SECRET_METADATA } from "../../lib/grpc/auth.js";
import { toServiceError } from "../../lib/grpc/errors.js";
import { errorInfoOfCall } from "./error-frame.js";
import { GrpcHistoryCalls } from "./history-client.js";

/** A HistoryService on a real grpc-js server that records each call's metadata and deadline. */
async function fakeStore(answer: (req: SyncP2PMessagesRequest) => Promise<unknown>, port = 0) {
  const seen: Array<{ secret: unknown; deadlineMs: number; request: SyncP2PMessagesRequest }> = [];
  const server = new grpc.Server();
  server.addService(HistoryServiceService, {
    syncP2PMessages: (
      call: grpc.ServerUnaryCall<SyncP2PMessagesRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const deadline = call.getDeadline();
      seen.push({
        secret: call.metadata.get(INTERNAL_SECRET_METADATA)[0],
        deadlineMs: deadline instanceof Date ? deadline.getTime() : Number(deadline),
        request: call.request,
      });
      answer(call.request).then(
        (res) => callback(null, res),
        (err: grpc.ServiceError) => callback(err),
      );
    },
  } as grpc.UntypedServiceImplementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${bound}`, port: bound, seen, stop: () => server.forceShutdown() };
}

const request = SyncP2PMessagesRequest.fromPartial({
  appId: 10001,
  operater: "u1",
  toId: "u2",
  maxLimit: 10,
});
const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe("InternalGrpcClient (through GrpcHistoryCalls)", () => {
  it("reaches a callee that was down for seconds within about a second of it listening again", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const empty = async () => ({ maxSequence: 0, completed: true, dataList: [] });
    const first = await fakeStore(empty);
    const calls = new GrpcHistoryCalls(first.address, "s", 300);
    stops.push(() => calls.close());
    await calls.syncP2PMessages(request);
    first.stop();
    // Down for 6 s while calls keep failing, as a gateway's do: grpc-js's default backoff
    // (1 s × 1.6 per attempt) would next try ~3 s after the callee is back.
    for (const until = Date.now() + 6_000; Date.now() < until; ) {
      await calls.syncP2PMessages(request).catch(() => undefined);
      await sleep(50);
    }
    const second = await fakeStore(empty, first.port);
    stops.push(second.stop);
    const back = Date.now();
    for (;;) {
      try {
        await calls.syncP2PMessages(request);
        break;
      } catch {
        await sleep(20);
      }
    }
    console.info(`back after ${Date.now() - back} ms`);
    expect(Date.now() - back).toBeLessThan(2_000); // the backoff stays under 1 s (+20 % jitter)
  }, 20_000);

  it("sends the internal secret and a deadline of timeoutMs, and resolves with the response", async () => {
    const store = await fakeStore(async () => ({ maxSequence: 5, completed: true, dataList: [] }));
    const calls = new GrpcHistoryCalls(store.address, "s3cret", 2000);
    stops.push(store.stop, () => calls.close());
    const before = Date.now();
    const res = await calls.syncP2PMessages(request);
    expect(res).toEqual({ maxSequence: 5, completed: true, dataList: [] });
    expect(store.seen).toHaveLength(1);
    expect(store.seen[0]?.secret).toBe("s3cret");
    expect(store.seen[0]?.request.toId).toBe("u2");
    const deadline = store.seen[0]?.deadlineMs ?? 0;
    expect(deadline).toBeGreaterThanOrEqual(before + 1900);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 2100);
  });

  it("rejects with the callee's status, which errorInfoOfCall maps to its code", async () => {
    const store = await fakeStore(() => Promise.reject(toServiceError(ImError.of("PARAMETER_ERROR"))));
    const calls = new GrpcHistoryCalls(store.address, "s", 2000);
    stops.push(store.stop, () => calls.close());
    const error = await calls.syncP2PMessages(request).catch((e: unknown) => e);
    expect(errorInfoOfCall(error).code).toBe(90001);
  });

  it("gives DEADLINE_EXCEEDED (71000 for the client) when the callee is slower than timeoutMs", async () => {
    const store = await fakeStore(() => new Promise((r) => setTimeout(() => r({}), 1000)));
    const calls = new GrpcHistoryCalls(store.address, "s", 100);
    stops.push(store.stop, () => calls.close());
    const error = await calls.syncP2PMessages(request).catch((e: unknown) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(errorInfoOfCall(error).code).toBe(71000);
  });
});
