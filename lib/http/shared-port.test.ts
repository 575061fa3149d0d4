import { connect, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { isHttp2Preface, routeByPreface } from "./shared-port.js";

describe("one port for gRPC and HTTP/1.1", () => {
  it("tells the HTTP/2 preface (or its first bytes) from HTTP/1.1 request lines", () => {
    expect(isHttp2Preface(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))).toBe(true);
    expect(isHttp2Preface(Buffer.from("PR"))).toBe(true); // a preface arriving byte by byte
    expect(isHttp2Preface(Buffer.from("POST /v1/user/login HTTP/1.1\r\n"))).toBe(false);
    expect(isHttp2Preface(Buffer.from("PUT / HTTP/1.1"))).toBe(false);
    expect(isHttp2Preface(Buffer.alloc(0))).toBe(false);
  });

  it("hands the connection on with its first bytes unread", async () => {
    const seen: Array<{ kind: string; text: string }> = [];
    const server = createServer((socket: Socket) => {
      const read = (kind: string) => () => {
        socket.once("data", (chunk: Buffer) => {
          seen.push({ kind, text: chunk.toString("latin1") });
          socket.end();
        });
        socket.resume();
      };
      routeByPreface(socket, read("h2"), read("http1"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    for (const text of ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"]) {
      const client = connect(port, "127.0.0.1");
      client.write(text);
      await new Promise((r) => client.on("close", r));
    }
    server.close();
    expect(seen).toEqual([
      { kind: "h2", text: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" },
      { kind: "http1", text: "GET / HTTP/1.1\r\n\r\n" },
    ]);
  });
});
