import { Metadata, type ServerUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { HistoryServiceService } from "../../gen/ts/whaleshark/v1/history_service.js";
import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import { generateUserSign } from "../auth/index.js";
import { DbError } from "../ports/db.js";
import { AppAuthenticator, AUTH_METADATA, INTERNAL_SECRET_METADATA, InternalAuthenticator } from "./auth.js";
import { errorCodeOf } from "./errors.js";
import { type RequestContext, serveApp } from "./serve.js";

const SECRET = "serve-test-internal-secret-0123";
const apps = { "10001": { privateKey: "bantanger", adminIds: ["boss"] } };
const logger = pino({ level: "silent" });

function meta(values: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(values)) m.set(k, v);
  return m;
}

function signed(identifier: string): Metadata {
  return meta({
    [AUTH_METADATA.appId]: "10001",
    [AUTH_METADATA.identifier]: identifier,
    [AUTH_METADATA.userSign]: generateUserSign({
      appId: 10001,
      identifier,
      privateKey: "bantanger",
      expireSeconds: 600,
    }),
  });
}

/** A HistoryService whose SyncDeviceMessages reports the context it was called with (or throws `fails`). */
function service(internal: boolean, fails?: unknown) {
  const seen: Array<Omit<RequestContext, "log" | "isAdmin"> & { admin: boolean }> = [];
  const impl = serveApp(
    "HistoryService",
    HistoryServiceService,
    {
      async syncDeviceMessages(_req, ctx) {
        if (fails !== undefined) throw fails;
        const { log: _log, isAdmin, signal: _signal, ...rest } = ctx;
        seen.push({ ...rest, admin: await isAdmin() });
        return { maxSequence: 0, completed: true, dataList: [] };
      },
    },
    {
      auth: new AppAuthenticator({ apps, kv: new MemoryKvStore(), userType: async () => 1 }),
      internal: internal ? new InternalAuthenticator(SECRET) : undefined,
      logger,
    },
  );
  const call = (metadata: Metadata, operater: string) =>
    new Promise<{ error: Partial<ServiceError> | null }>((resolve) => {
      const request = { appId: 10001, operater, clientType: 3, imei: "phone", lastSequence: 0, maxLimit: 0 };
      const unary = impl.syncDeviceMessages as (
        call: Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "request">,
        callback: (error: Partial<ServiceError> | null) => void,
      ) => void;
      unary({ metadata, request }, (error) => resolve({ error }));
    });
  return { seen, call };
}

describe("serveApp", () => {
  it("binds an app-server call to its signed identifier", async () => {
    const s = service(true);
    expect((await s.call(signed("ann"), "ann")).error).toBeNull();
    expect(s.seen).toEqual([
      {
        appId: 10001,
        operator: "ann",
        identifier: "ann",
        device: { clientType: 3, imei: "phone" },
        admin: false,
      },
    ]);
    const impostor = await s.call(signed("eve"), "ann");
    expect(impostor.error?.code).toBe(7); // PERMISSION_DENIED
    expect(errorCodeOf(impostor.error as ServiceError)).toBe(60005);
    expect((await s.call(signed("boss"), "ann")).error).toBeNull(); // an admin acts for anyone
  });

  it("lets gateways in by the internal secret, acting as the body's operater and never as admin", async () => {
    const s = service(true);
    expect((await s.call(meta({ [INTERNAL_SECRET_METADATA]: SECRET }), "ann")).error).toBeNull();
    expect(s.seen[0]).toMatchObject({ operator: "ann", identifier: "ann", admin: false });
    const wrong = await s.call(meta({ [INTERNAL_SECRET_METADATA]: `${SECRET}x` }), "ann");
    expect(wrong.error?.code).toBe(16); // UNAUTHENTICATED
    expect(errorCodeOf(wrong.error as ServiceError)).toBe(60003);
  });

  it("ignores the internal secret of a service that serves app servers only", async () => {
    const s = service(false);
    const refused = await s.call(meta({ [INTERNAL_SECRET_METADATA]: SECRET }), "ann");
    expect(refused.error?.code).toBe(16);
    expect(errorCodeOf(refused.error as ServiceError)).toBe(60001);
    expect(s.seen).toEqual([]);
  });

  it("answers a value too long for its column with 90001 and other database errors with 90000", async () => {
    const tooLong = await service(false, new DbError("value-too-long")).call(signed("ann"), "ann");
    expect(tooLong.error?.code).toBe(3); // INVALID_ARGUMENT
    expect(errorCodeOf(tooLong.error as ServiceError)).toBe(90001);
    const duplicate = await service(false, new DbError("unique-violation")).call(signed("ann"), "ann");
    expect(duplicate.error?.code).toBe(13); // INTERNAL
    expect(errorCodeOf(duplicate.error as ServiceError)).toBe(90000);
  });
});
