import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { pino } from "pino";
import { connectRedis } from "../../lib/adapters/redis/connection.js";

/** A redis-server of one test's own, which the test may flush or kill without touching anyone else. */
export interface PrivateRedis {
  port: number;
  /** `redis://127.0.0.1:{port}`. */
  url: string;
  /** FLUSHALL: every key of this instance gone, as after a restart without persistence. */
  flushAll(): Promise<void>;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port from the OS");
  return address.port;
}

/**
 * Starts `redis-server` as a child on a free port, without persistence (`--save "" --appendonly
 * no`), and waits until it answers PING. Tests that must lose Redis data (FLUSHALL, docs/architecture.md §4
 * "a restart of Redis which may lose all its data") use this instead of the shared server, where
 * flushing is forbidden. The caller must `stop()` it.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const logger = pino({ level: "silent" });
  const command = async (run: (r: Awaited<ReturnType<typeof connectRedis>>) => Promise<unknown>) => {
    const redis = await connectRedis({ url, logger });
    try {
      await run(redis);
    } finally {
      await redis.quit();
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start: ${output}`);
    try {
      await command((r) => r.ping());
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server on ${port} did not answer: ${String(error)}; ${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { port, url, flushAll: () => command((r) => r.flushall()), stop };
}
