import * as grpc from "@grpc/grpc-js";
import { generateUserSign } from "../../../lib/auth/index.js";

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

/**
 * A client of one gRPC service at `address`, signing every call as `identity` (metadata appid,
 * identifier, usersign), so the server's authentication runs as for any app server. Fields a test
 * leaves out take the decoded-empty defaults. `close()` the returned channel when done.
 */
export function grpcCaller<D extends object>(
  address: string,
  definition: D,
  identity: AppIdentity,
): { call: Caller<D>; close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
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
  const call: Record<string, (request: object) => Promise<unknown>> = {};
  for (const [name, def] of Object.entries(definition as Record<string, MethodDef>)) {
    call[name] = (request) =>
      new Promise((resolve, reject) => {
        const full = { ...(def.requestDeserialize(Buffer.alloc(0)) as object), ...request };
        client.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          full,
          metadata,
          { deadline: Date.now() + 15_000 },
          (e, r) => (e ? reject(e) : resolve(r)),
        );
      });
  }
  return { call: call as Caller<D>, close: () => client.close() };
}
