import type {
  Metadata,
  ServerUnaryCall,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ImError, isImError } from "../errors/index.js";
import { isDbError } from "../ports/db.js";
import { IncomingTrace, tracingOn, withContext } from "../tracing/index.js";
import {
  type AppAuthenticator,
  authorizeRequestBase,
  INTERNAL_SECRET_METADATA,
  type InternalAuthenticator,
  type RequestBase,
} from "./auth.js";
import { callSignal, deadlineExceededStatus, isDeadlineExceeded } from "./deadline.js";
import { toServiceError } from "./errors.js";
import { requestAdmitted } from "./limits.js";
import { requestTextChecked } from "./text-check.js";

/**
 * Turns typed handler maps into grpc-js service implementations with
 * authentication in front (common.proto §2) and error translation behind
 * (§3), for every role that serves gRPC (domain, store). A wrapper instead of
 * a grpc-js server interceptor: the handler needs the authenticated caller,
 * and the body check needs the decoded request, neither of which an
 * interceptor hands on in a typed way.
 *
 * A method missing from a handler map stays UNIMPLEMENTED (grpc-js answers
 * that for absent handlers), so a service can be mounted before it is built.
 *
 * Before anything else, a call whose caller has gone (deadline passed,
 * cancelled) gets DEADLINE_EXCEEDED, and one with a list past its bound 90001
 * (limits.ts); the handler's context carries a signal that aborts when the
 * deadline passes, which long handlers check between chunks (deadline.ts).
 */

/** What an app-facing handler knows about its call, after authentication and the body check. */
export interface RequestContext {
  appId: number;
  /** The acting user: the body's `operater`, which the check bound to the caller (or an admin's choice). */
  operator: string;
  /** The user the userSign was issued for (for a gateway's internal call: the body's `operater`). */
  identifier: string;
  /** The calling device (RequestBase client_type + imei); imei "" = a back office, no device. */
  device: { clientType: number; imei: string };
  /** Whether the caller is an app admin (config adminIds or user_type 100); never for internal calls. */
  isAdmin(): Promise<boolean>;
  log: Logger;
  /**
   * Aborts when the caller's deadline passes or it cancels (deadline.ts); long handlers check it
   * between chunks of work. Set by serve() for every call; absent only in hand-made contexts.
   */
  signal?: AbortSignal;
  /**
   * The W3C trace context the caller sent (lib/tracing, docs/tracing.md); set by serve() only
   * when tracing is on. The handler already runs under the call's own context.
   */
  trace?: IncomingTrace;
}

/** What an internal (gateway → domain) handler knows about its call. */
export interface InternalContext {
  log: Logger;
  /** As {@link RequestContext.signal}. */
  signal?: AbortSignal;
  /** As {@link RequestContext.trace}; a batch's per-item contexts are read from it (`item(i)`). */
  trace?: IncomingTrace;
}

type Unary<M, Ctx> = M extends {
  requestDeserialize(value: Buffer): infer Req;
  responseDeserialize(value: Buffer): infer Res;
}
  ? (request: Req, ctx: Ctx) => Promise<Res>
  : never;

/** Typed handlers for the methods of a ts-proto service definition `D`, each optional. */
export type AppHandlers<D> = { [K in keyof D]?: Unary<D[K], RequestContext> };

/** Typed handlers for an internal service. */
export type InternalHandlers<D> = { [K in keyof D]?: Unary<D[K], InternalContext> };

/** How {@link serveApp} authenticates its callers. */
export interface AppServeEnv {
  /** App servers: metadata appid / identifier / usersign. */
  auth: AppAuthenticator;
  /**
   * Gateways, when the service also serves them: a call that carries the
   * internal secret (metadata `x-whaleshark-internal`) is checked against it
   * instead, and its RequestBase is taken as given, because the gateway
   * fills `operater` from the logged-in connection (D26), never from the
   * device. Such a caller is never an app admin. Without it, only app
   * servers get in.
   */
  internal?: InternalAuthenticator;
  logger: Logger;
}

/**
 * Database errors that a request caused (not the server): a value longer
 * than its column (the db port's `value-too-long`) is the caller's 90001, not
 * an internal 90000. Everything else passes through unchanged.
 */
function clientError(error: unknown): unknown {
  if (isDbError(error, "value-too-long")) {
    return ImError.of("PARAMETER_ERROR", "a value is longer than its field allows", { cause: error });
  }
  return error;
}

type AnyHandler<Ctx> = (request: unknown, ctx: Ctx) => Promise<unknown>;

function serve<Ctx extends { signal?: AbortSignal; trace?: IncomingTrace }>(
  service: string,
  handlers: Record<string, AnyHandler<Ctx> | undefined>,
  logger: Logger,
  context: (metadata: Metadata, request: unknown, log: Logger) => Promise<Ctx>,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (handler === undefined) continue;
    const log = logger.child({ rpc: `${service}/${method}` });
    impl[method] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const { signal, dispose } = callSignal(call);
      // A caller already gone (DEADLINE_EXCEEDED) or a list past its bound (90001 naming the
      // field, limits.ts) is refused before anything walks the request (issue 13).
      requestAdmitted(service, method, call.request, signal)
        // Text the database cannot store (NUL, unpaired surrogates) is refused next: 90001 naming
        // the field, before authentication or the handler reads anything (text-check.ts, issue 13).
        .then(() => requestTextChecked(handler, call.request))
        .then(() => context(call.metadata, call.request, log))
        .then((ctx) => {
          signal.throwIfAborted(); // authentication may have waited
          ctx.signal = signal;
          if (!tracingOn()) return handler(call.request, ctx);
          ctx.trace = new IncomingTrace((key) => metadataText(call.metadata, key));
          return withContext(ctx.trace.call(), () => handler(call.request, ctx));
        })
        .finally(dispose)
        .then(
          (response) => callback(null, response),
          (thrown: unknown) => {
            if (isDeadlineExceeded(thrown)) {
              log.debug("the caller has gone: call abandoned");
              callback(deadlineExceededStatus());
              return;
            }
            const error = clientError(thrown);
            if (isImError(error)) log.debug({ code: error.code, msg: error.message }, "call refused");
            else log.error({ err: error }, "call failed");
            callback(toServiceError(error));
          },
        );
    };
  }
  return impl;
}

/** The first text value of a metadata key (trace headers are never binary). */
function metadataText(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

const notAdmin = async (): Promise<boolean> => false;

/**
 * An app-facing service: every call is authenticated from its metadata, its
 * RequestBase checked against the caller, and handed to the typed handler.
 * With `env.internal`, gateways may call it too (see {@link AppServeEnv}).
 */
export function serveApp<D extends ServiceDefinition>(
  service: string,
  _definition: D,
  handlers: AppHandlers<D>,
  env: AppServeEnv,
): UntypedServiceImplementation {
  return serve<RequestContext>(
    service,
    handlers as Record<string, AnyHandler<RequestContext> | undefined>,
    env.logger,
    async (metadata, request, log) => {
      const body = request as RequestBase;
      let identifier: string;
      let isAdmin: () => Promise<boolean>;
      if (env.internal !== undefined && metadata.get(INTERNAL_SECRET_METADATA).length > 0) {
        env.internal.authenticate(metadata);
        identifier = body.operater;
        isAdmin = notAdmin;
      } else {
        const caller = await env.auth.authenticate(metadata);
        await authorizeRequestBase(caller, body);
        identifier = caller.identifier;
        isAdmin = caller.isAdmin;
      }
      return {
        appId: body.appId,
        operator: body.operater,
        identifier,
        device: { clientType: body.clientType, imei: body.imei },
        isAdmin,
        log: log.child({ appId: body.appId, operator: body.operater }),
      };
    },
  );
}

/** An internal service (ChatService): calls must carry the deployment's shared secret. */
export function serveInternal<D extends ServiceDefinition>(
  service: string,
  _definition: D,
  handlers: InternalHandlers<D>,
  env: { auth: InternalAuthenticator; logger: Logger },
): UntypedServiceImplementation {
  return serve<InternalContext>(
    service,
    handlers as Record<string, AnyHandler<InternalContext> | undefined>,
    env.logger,
    async (metadata, _request, log) => {
      env.auth.authenticate(metadata);
      return { log };
    },
  );
}
