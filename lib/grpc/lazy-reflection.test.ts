import * as grpc from "@grpc/grpc-js";
import { GrpcReflection } from "grpc-js-reflection-client";
import { afterEach, describe, expect, it } from "vitest";
import { contractDescriptor } from "./descriptor.js";
import { addLazyReflection } from "./lazy-reflection.js";

const servers: grpc.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.forceShutdown();
});

async function serve(services: string[] | undefined): Promise<{ address: string; loads: () => number }> {
  let loads = 0;
  const server = new grpc.Server();
  servers.push(server);
  addLazyReflection(
    server,
    () => {
      loads++;
      return contractDescriptor();
    },
    services,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, loads: () => loads };
}

describe("addLazyReflection", () => {
  it("reads the contracts on the first reflection call, not at start, and only once", async () => {
    const s = await serve(["whaleshark.v1.UserService"]);
    expect(s.loads()).toBe(0);
    const client = new GrpcReflection(s.address, grpc.credentials.createInsecure());
    expect(await client.listServices()).toEqual(["whaleshark.v1.UserService"]);
    const methods = await client.listMethods("whaleshark.v1.UserService");
    expect(methods.map((m) => m.name)).toContain("GetUserInfo");
    expect(s.loads()).toBe(1);
  });

  it("lists the whole contract when no service list is given", async () => {
    const s = await serve(undefined);
    const listed = await new GrpcReflection(s.address, grpc.credentials.createInsecure()).listServices();
    expect(listed).toEqual(
      expect.arrayContaining(["whaleshark.v1.ChatService", "whaleshark.v1.UserService"]),
    );
  });
});
