import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { closeClient, openClient, removeTree } from "../adapters/zookeeper/client.js";

/**
 * ZooKeeper that tests use: the standalone server scripts/services.sh starts on every developer
 * machine and in CI. Override with WHALESHARK_TEST_ZOOKEEPER (a connect string).
 */
export const testZookeeperConnect = process.env.WHALESHARK_TEST_ZOOKEEPER ?? "127.0.0.1:2181";

/**
 * A root znode of its own for one test (`/whaleshark-test/<hex>`), so parallel runs never see each
 * other's instances. Pass it as the adapter's `root`; `removeTestRoot` deletes it afterwards.
 */
export function uniqueZookeeperRoot(): string {
  return `/whaleshark-test/${randomBytes(6).toString("hex")}`;
}

/** Deletes a test root and everything under it (never anything outside `/whaleshark-test`). */
export async function removeTestRoot(root: string): Promise<void> {
  if (!root.startsWith("/whaleshark-test/")) throw new Error(`refusing to delete ${root}`);
  const client = await openClient(testZookeeperConnect, { sessionTimeoutMs: 5000, connectTimeoutMs: 5000 });
  try {
    await removeTree(client, root);
  } finally {
    await closeClient(client);
  }
}

/**
 * Ends another client's session the way a server-side expiry would (the classic "kill session"
 * trick): attach a second connection to the same session id and password, then close it. The
 * server drops the session and its ephemeral nodes; the original client learns on its next
 * reconnect that the session expired. The original must not be able to reconnect meanwhile (it
 * would take the session back before the close): connect it through a {@link ZookeeperProxy} and
 * `cut()` that first.
 */
export async function expireSession(session: {
  id: Buffer;
  password: Buffer;
  timeoutMs: number;
}): Promise<void> {
  const twin = await openClient(testZookeeperConnect, {
    sessionTimeoutMs: session.timeoutMs,
    connectTimeoutMs: 5000,
    session: { id: session.id, password: session.password },
  });
  await closeClient(twin);
}

/**
 * A TCP relay in front of the test server, so a test can cut a client off (a network partition)
 * and let it back in. Clients connect to `connect` instead of {@link testZookeeperConnect}.
 */
export class ZookeeperProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(
    private readonly server: Server,
    /** Connect string of the relay (`127.0.0.1:<port>`). */
    readonly connect: string,
  ) {}

  static async start(): Promise<ZookeeperProxy> {
    const [host = "127.0.0.1", port = "2181"] = (testZookeeperConnect.split(",")[0] ?? "").split(":");
    let proxy: ZookeeperProxy | undefined;
    const server = createServer((client) => {
      if (proxy === undefined || proxy.cutOff) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host, port: Number(port) });
      const pair = [client, upstream];
      for (const s of pair) {
        proxy.sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          proxy?.sockets.delete(s);
          for (const other of pair) other.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const bound = typeof address === "object" && address !== null ? address.port : 0;
    proxy = new ZookeeperProxy(server, `127.0.0.1:${bound}`);
    return proxy;
  }

  /** Drops every relayed connection and refuses new ones until `restore`. */
  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  /** Accepts connections again. */
  restore(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
