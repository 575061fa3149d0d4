import { createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionLimiter, limitConnections, limiterKey, peerOf, RefusalLog } from "./connection-limiter.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("ConnectionLimiter", () => {
  it("admits up to the per-address cap and frees slots on release", () => {
    const limiter = new ConnectionLimiter({ maxConnections: 100, maxConnectionsPerIp: 2 });
    expect(limiter.tryAcquire("1.1.1.1")).toBeUndefined();
    expect(limiter.tryAcquire("1.1.1.1")).toBeUndefined();
    expect(limiter.tryAcquire("1.1.1.1")).toBe("ip-limit");
    expect(limiter.tryAcquire("2.2.2.2")).toBeUndefined();
    limiter.release("1.1.1.1");
    expect(limiter.count("1.1.1.1")).toBe(1);
    expect(limiter.tryAcquire("1.1.1.1")).toBeUndefined();
    limiter.release("2.2.2.2");
    expect(limiter.count("2.2.2.2")).toBe(0);
    expect(limiter.total).toBe(2);
  });

  it("caps the total across addresses, and a refusal counts nothing", () => {
    const limiter = new ConnectionLimiter({ maxConnections: 3, maxConnectionsPerIp: 10 });
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) expect(limiter.tryAcquire(ip)).toBeUndefined();
    expect(limiter.tryAcquire("10.0.0.4")).toBe("total-limit");
    expect(limiter.total).toBe(3);
    expect(limiter.count("10.0.0.4")).toBe(0);
    limiter.release("10.0.0.2");
    expect(limiter.tryAcquire("10.0.0.4")).toBeUndefined();
    // A release without an acquire (a bug elsewhere) never drives the counts negative.
    limiter.release("10.9.9.9");
    expect(limiter.total).toBe(3);
  });

  it("counts IPv6 peers by their /64, IPv4 and IPv4-mapped addresses as themselves", () => {
    expect(limiterKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(limiterKey("2001:DB8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(limiterKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(limiterKey("::1")).toBe("0:0:0:0::/64");
    expect(limiterKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(limiterKey("::ffff:10.1.2.3")).toBe("::ffff:10.1.2.3");
    expect(limiterKey("10.1.2.3")).toBe("10.1.2.3");
    const limiter = new ConnectionLimiter({ maxConnections: 100, maxConnectionsPerIp: 2 });
    expect(limiter.tryAcquire("2001:db8:1:2::1")).toBeUndefined();
    expect(limiter.tryAcquire("2001:db8:1:2::2")).toBeUndefined();
    expect(limiter.tryAcquire("2001:db8:1:2:ffff::3")).toBe("ip-limit");
    expect(limiter.tryAcquire("2001:db8:1:3::1")).toBeUndefined();
  });

  it("names peers as ip:port, IPv6 in brackets", () => {
    expect(peerOf({ remoteAddress: "10.1.2.3", remotePort: 5000 })).toBe("10.1.2.3:5000");
    expect(peerOf({ remoteAddress: "::1", remotePort: 80 })).toBe("[::1]:80");
    expect(peerOf({ remoteAddress: undefined, remotePort: undefined })).toBe("unknown:0");
  });
});

describe("limitConnections", () => {
  it("runs an HTTP server's own handling only for admitted sockets, counting them until they close", async () => {
    const limiter = new ConnectionLimiter({ maxConnections: 10, maxConnectionsPerIp: 2 });
    const refused: string[] = [];
    const server = createServer((_req, res) => res.end("ok"));
    limitConnections(server, limiter, (socket, reason) => {
      refused.push(reason);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const open = async (): Promise<Socket> => {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => undefined);
      await new Promise((r) => s.once("connect", r));
      closers.push(() => s.destroy());
      return s;
    };
    // Two sockets that never send a byte hold both slots of the address.
    const a = await open();
    await open();
    const third = await open();
    await new Promise((r) => third.once("close", r));
    expect(refused).toEqual(["ip-limit"]);
    expect(limiter.count("127.0.0.1")).toBe(2);
    a.destroy();
    await expect.poll(() => limiter.count("127.0.0.1")).toBe(1);
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
    expect(await res.text()).toBe("ok");
  });
});

describe("RefusalLog", () => {
  it("warns at most once per interval, with the peer and the count since, the rest at debug", () => {
    const lines: Array<{ level: string; o: Record<string, unknown> }> = [];
    let now = 0;
    const log = new RefusalLog(
      {
        debug: (o) => lines.push({ level: "debug", o: o as Record<string, unknown> }),
        warn: (o) => lines.push({ level: "warn", o: o as Record<string, unknown> }),
      },
      "ws",
      () => now,
    );
    log.refused("1.1.1.1:1", "ip-limit");
    log.refused("1.1.1.1:2", "ip-limit");
    now = 20_000;
    log.refused("2.2.2.2:3", "total-limit");
    expect(lines.map((l) => l.level)).toEqual(["warn", "debug", "warn"]);
    expect(lines[0]?.o).toMatchObject({
      listener: "ws",
      remote: "1.1.1.1:1",
      reason: "ip-limit",
      refused: 1,
    });
    expect(lines[1]?.o).toMatchObject({ remote: "1.1.1.1:2" });
    expect(lines[2]?.o).toMatchObject({ remote: "2.2.2.2:3", refused: 2 });
  });
});
