import { readFileSync } from "node:fs";
import {
  createFileRegistry,
  type DescField,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  fromBinary,
  getOption,
  hasOption,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { descriptorSetPath } from "../grpc/descriptor.js";

/**
 * The HTTP routes of the contracts, read from the descriptor set (`gen/descriptor.binpb`), never
 * written by hand (issue 14):
 *
 * - every `google.api.http` option on an RPC (proto/whaleshark/v1/*_service.proto) is an
 *   "original" route: the path of the original's HTTP API, answered with its ResponseVO. A binding
 *   with `custom { kind: "*" }` marks a path the original mapped with `@RequestMapping`, which
 *   accepted any method; the others take only the method they name (POST). `body: "*"` is the only
 *   body mapping used (the whole JSON body is the request), `response_body` names the field of the
 *   response that is the original's `data`;
 * - every unary method is also a "connect" route, `POST /<package>.<Service>/<Method>`, proto-JSON
 *   in and out (the Connect protocol's unary shape).
 *
 * Methods of services a server does not mount are left out by the caller (RouteTable.forServices).
 */

/** One route to one RPC. */
export interface HttpRoute {
  kind: "original" | "connect";
  /** The request path, e.g. `/v1/friendship/addFriend` or `/whaleshark.v1.UserService/GetUserInfo`. */
  path: string;
  /** Upper-case HTTP methods accepted; empty = any method (the original's `@RequestMapping`). */
  methods: readonly string[];
  /** Fully qualified service name, e.g. `whaleshark.v1.FriendshipService`. */
  service: string;
  /** The gRPC method path, `/whaleshark.v1.FriendshipService/AddFriend`. */
  grpcPath: string;
  input: DescMessage;
  output: DescMessage;
  /** The response field that is the original's `data` (`response_body`); undefined = the whole response. */
  responseBody?: DescField;
}

/** What {@link RouteTable.match} found for a method and path. */
export type RouteMatch =
  | { route: HttpRoute }
  | { notAllowed: readonly string[] } // the path exists, not with this method
  | undefined;

/** The descriptor set as a @bufbuild/protobuf registry (read once). */
let registry: FileRegistry | undefined;

/** The contracts with their imports (google/api/http.proto) as a reflection registry. */
export function contractRegistry(): FileRegistry {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath)));
  return registry;
}

/** The fields of google.api.HttpRule we read (the message as @bufbuild/protobuf reflects it). */
interface HttpRuleShape {
  pattern: { case: string | undefined; value?: unknown };
  body: string;
  responseBody: string;
  additionalBindings: HttpRuleShape[];
}

/** Every route of the contracts, original and connect. */
export function contractRoutes(reg: FileRegistry = contractRegistry()): HttpRoute[] {
  const ext = reg.getExtension("google.api.http");
  if (ext === undefined) throw new Error("descriptor set without google.api.http (run npm run gen)");
  const routes: HttpRoute[] = [];
  for (const file of reg.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        if (method.methodKind !== "unary") continue;
        const grpcPath = `/${service.typeName}/${method.name}`;
        const base = { service: service.typeName, grpcPath, input: method.input, output: method.output };
        routes.push({ kind: "connect", path: grpcPath, methods: ["POST"], ...base });
        if (!hasOption(method, ext)) continue;
        const rule = getOption(method, ext) as unknown as HttpRuleShape;
        for (const binding of [rule, ...rule.additionalBindings]) {
          routes.push({ kind: "original", ...bindingOf(method, binding), ...base });
        }
      }
    }
  }
  return routes;
}

function bindingOf(
  method: DescMethod,
  rule: HttpRuleShape,
): { path: string; methods: string[]; responseBody?: DescField } {
  const where = `${method.parent.typeName}.${method.name}`;
  const { case: verb, value } = rule.pattern;
  let path: string;
  let methods: string[];
  if (verb === "custom") {
    const custom = value as { kind: string; path: string };
    path = custom.path;
    methods = custom.kind === "*" ? [] : [custom.kind.toUpperCase()];
  } else if (verb !== undefined && typeof value === "string") {
    path = value;
    methods = [verb.toUpperCase()];
  } else {
    throw new Error(`${where}: google.api.http without a path`);
  }
  // The edge maps the whole body and nothing from the path: a template or another body mapping
  // would need a transcoder that understands it, so the contracts may not declare one unnoticed.
  if (path.includes("{")) throw new Error(`${where}: path templates are not supported (${path})`);
  if (rule.body !== "*") throw new Error(`${where}: only body "*" is supported`);
  if (rule.responseBody === "") return { path, methods };
  const field = method.output.fields.find((f) => f.name === rule.responseBody);
  if (field === undefined) throw new Error(`${where}: response_body ${rule.responseBody} is no field`);
  return { path, methods, responseBody: field };
}

/** The routes a server answers, by path. */
export class RouteTable {
  readonly #byPath = new Map<string, HttpRoute[]>();

  constructor(routes: readonly HttpRoute[]) {
    for (const route of routes) {
      const list = this.#byPath.get(route.path) ?? [];
      list.push(route);
      this.#byPath.set(route.path, list);
    }
  }

  /** The routes of the services named (those a server mounts), minus `excluded` services. */
  static forServices(
    services: readonly string[],
    excluded: readonly string[] = [],
    all: readonly HttpRoute[] = contractRoutes(),
  ): RouteTable {
    return new RouteTable(all.filter((r) => services.includes(r.service) && !excluded.includes(r.service)));
  }

  /** Number of distinct paths. */
  get size(): number {
    return this.#byPath.size;
  }

  /** Every route (tests, docs). */
  routes(): HttpRoute[] {
    return [...this.#byPath.values()].flat();
  }

  /** The route of `method` at `path`; a method-specific binding wins over an any-method one. */
  match(method: string, path: string): RouteMatch {
    const list = this.#byPath.get(path);
    if (list === undefined) return undefined;
    const upper = method.toUpperCase();
    const route = list.find((r) => r.methods.includes(upper)) ?? list.find((r) => r.methods.length === 0);
    if (route !== undefined) return { route };
    return { notAllowed: [...new Set(list.flatMap((r) => r.methods))] };
  }
}
