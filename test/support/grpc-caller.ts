import * as grpc from "@grpc/grpc-js";
import { AppClient } from "../../lib/app-client/index.js";
import { generateUserSign } from "../../lib/auth/index.js";

type Method<M> = M extends {
  requestDeserialize(v: Buffer): infer Req;
  responseDeserialize(v: Buffer): infer Res;
}
  ? (request: Partial<Req>) => Promise<Res>
  : never;

/** Promise-returning calls of a generated service definition, taking partial requests. */
export type Caller<D> = { [K in keyof D]: Method<D[K]> };

interface MethodDef {
  path: string;
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(v: Buffer): unknown;
  responseDeserialize(v: Buffer): unknown;
}

/** Who signs an app-server call (common.proto §2): the app, its key and the acting user. */
export interface AppIdentity {
  appId: number;
  privateKey: string;
  userId: string;
}

/** The metadata of an app server's call signed as `identity` (appid, identifier, usersign). */
export function appMetadata(identity: AppIdentity): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("appid", String(identity.appId));
  metadata.set("identifier", identity.userId);
  metadata.set(
    "usersign",
    generateUserSign({
      appId: identity.appId,
      identifier: identity.userId,
      privateKey: identity.privateKey,
      expireSeconds: 3600,
    }),
  );
  return metadata;
}

/**
 * Promise-returning calls of every method of `definition` on `client`, each with `metadata` and,
 * when given, a deadline of `deadlineMs`. Fields a test leaves out take the defaults a decoded
 * empty message has.
 */
export function callerOf<D extends object>(
  client: grpc.Client,
  definition: D,
  metadata: grpc.Metadata,
  deadlineMs?: number,
): Caller<D> {
  const call: Record<string, (request: object) => Promise<unknown>> = {};
  for (const [name, def] of Object.entries(definition as Record<string, MethodDef>)) {
    call[name] = (request) =>
      new Promise((resolve, reject) => {
        const full = { ...(def.requestDeserialize(Buffer.alloc(0)) as object), ...request };
        const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
        client.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          full,
          metadata,
          options,
          (e, r) => (e ? reject(e) : resolve(r)),
        );
      });
  }
  return call as Caller<D>;
}

/**
 * A client of one gRPC service at `address`: the app-server client (lib/app-client) signing every
 * call as `identity`, so the server's authentication runs as for any app server. Fields a test
 * leaves out take the decoded-empty defaults. Each call's deadline is `deadlineMs` from its start;
 * no retries, so a test sees each failure as it happens. `close()` the channel when done.
 */
export function grpcCaller<D extends object>(
  address: string,
  definition: D,
  identity: AppIdentity,
  deadlineMs = 15_000,
): { call: Caller<D>; close(): void } {
  const client = new AppClient({
    target: address,
    appId: identity.appId,
    identity: { userId: identity.userId, privateKey: identity.privateKey },
    timeoutMs: deadlineMs,
    retry: false,
  });
  // ServiceCaller<D> is Caller<D> with an optional per-call options argument.
  return { call: client.callerOf(definition) as unknown as Caller<D>, close: () => client.close() };
}
