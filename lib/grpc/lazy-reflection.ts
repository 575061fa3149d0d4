import type * as grpc from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

type Handlers = grpc.UntypedServiceImplementation;
type Registrar = Pick<grpc.Server, "addService">;

/** The services and handlers a ReflectionService registers, captured instead of served. */
function capture(
  service: ReflectionService,
): Map<string, { definition: grpc.ServiceDefinition; handlers: Handlers }> {
  const found = new Map<string, { definition: grpc.ServiceDefinition; handlers: Handlers }>();
  const registrar: Registrar = {
    addService(definition, handlers) {
      const first = Object.values(definition)[0];
      found.set(first?.path.split("/")[1] ?? "", { definition, handlers: handlers as Handlers });
    },
  };
  service.addToServer(registrar as grpc.Server);
  return found;
}

/**
 * Server reflection that indexes the contracts on its first request instead of at start-up.
 * `@grpc/reflection` decodes and indexes every file descriptor in its constructor: ~0.7 s of CPU
 * in every role's start, most of a start-up that should stay under a second (bench/RESULTS.md
 * "start-up"), for a service only tools (grpcurl, Postman) call. The services are registered at
 * once with the same definitions (taken from a ReflectionService over no files, which costs
 * nothing to build); the real one is built when a reflection stream first opens.
 */
export function addLazyReflection(
  server: Registrar,
  descriptor: () => PackageDefinition,
  services: string[] | undefined,
): void {
  let real: ReturnType<typeof capture> | undefined;
  const realHandler = (name: string, method: string) => {
    real ??= capture(new ReflectionService(descriptor(), { services }));
    const handler = real.get(name)?.handlers[method];
    if (handler === undefined) throw new Error(`reflection: no ${name}/${method}`);
    return handler as grpc.handleBidiStreamingCall<unknown, unknown>;
  };
  for (const [name, { definition, handlers }] of capture(new ReflectionService({}))) {
    const lazy: Handlers = {};
    for (const method of Object.keys(handlers)) {
      lazy[method] = ((call: grpc.ServerDuplexStream<unknown, unknown>) =>
        realHandler(name, method)(call)) as grpc.handleBidiStreamingCall<unknown, unknown>;
    }
    server.addService(definition, lazy);
  }
}
