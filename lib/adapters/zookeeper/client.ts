import zookeeper from "node-zookeeper-client";

/** A node-zookeeper-client connection (one session). */
export type ZkClient = zookeeper.Client;

/** A ZooKeeper watch callback; the same function registered twice on a path counts once. */
export type ZkWatcher = (event: zookeeper.Event) => void;

/**
 * A failed ZooKeeper call. node-zookeeper-client reports `Exception` objects, which are not
 * `Error`s (no stack, `instanceof Error` false); this wraps them so logs and rejections stay normal.
 */
export class ZookeeperError extends Error {
  /** The ZooKeeper result code (`zookeeper.Exception.NO_NODE`, ...). */
  readonly code: number;

  constructor(cause: unknown, what: string) {
    const code = cause instanceof zookeeper.Exception ? cause.getCode() : zookeeper.Exception.SYSTEM_ERROR;
    super(`zookeeper: ${what}: ${String(cause)}`, { cause });
    this.name = "ZookeeperError";
    this.code = code;
  }
}

/** True for a ZooKeeper "no node" failure. */
export const isNoNode = (err: unknown): boolean =>
  err instanceof ZookeeperError && err.code === zookeeper.Exception.NO_NODE;

/** True for a ZooKeeper "node exists" failure. */
export const isNodeExists = (err: unknown): boolean =>
  err instanceof ZookeeperError && err.code === zookeeper.Exception.NODE_EXISTS;

/**
 * True for a failure that says nothing about the request, only that the connection dropped
 * while it was in flight (CONNECTION_LOSS, OPERATION_TIMEOUT): the client reconnects with the
 * same session, and an idempotent request can simply be made again.
 */
export const isConnectionLoss = (err: unknown): boolean =>
  err instanceof ZookeeperError &&
  (err.code === zookeeper.Exception.CONNECTION_LOSS || err.code === zookeeper.Exception.OPERATION_TIMEOUT);

/**
 * Runs `attempt` again while it fails with a connection loss ({@link isConnectionLoss}), waiting
 * 100 ms, doubling to 2 s, until `withinMs` have passed; any other failure, or one past that
 * time, is thrown. For idempotent requests only. `onRetry` hears each retried failure.
 */
export async function retryOnConnectionLoss<T>(
  attempt: () => Promise<T>,
  withinMs: number,
  onRetry: (err: unknown, retry: number) => void = () => undefined,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let retry = 1; ; retry++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConnectionLoss(err) || Date.now() >= deadline) throw err;
      onRetry(err, retry);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** (retry - 1))));
    }
  }
}

/** Options of {@link openClient}. */
export interface OpenClientOptions {
  sessionTimeoutMs: number;
  /** Give up when no session is established within this time. */
  connectTimeoutMs: number;
  /** Re-attach to an existing session (tests use it to expire a session). */
  session?: { id: Buffer; password: Buffer };
}

/**
 * Opens a client and resolves once its session is established.
 * @throws ZookeeperError-free Error when the ensemble is not reachable within `connectTimeoutMs`
 */
export function openClient(connect: string, opts: OpenClientOptions): Promise<ZkClient> {
  // sessionId/sessionPassword are honoured by the library but missing from its type declarations.
  const options: Partial<zookeeper.Option> & { sessionId?: Buffer; sessionPassword?: Buffer } = {
    sessionTimeout: opts.sessionTimeoutMs,
    spinDelay: 500,
    retries: 0,
    ...(opts.session ? { sessionId: opts.session.id, sessionPassword: opts.session.password } : {}),
  };
  const client = zookeeper.createClient(connect, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`zookeeper: no session with ${connect} within ${opts.connectTimeoutMs} ms`));
    }, opts.connectTimeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

/** Closes the session (its ephemeral nodes go at once) and waits for the socket, at most `waitMs`. */
export function closeClient(client: ZkClient, waitMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    client.once("disconnected", () => {
      clearTimeout(timer);
      resolve();
    });
    client.close();
  });
}

function call<T>(what: string, run: (done: (err: unknown, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((err, value) => (err ? reject(new ZookeeperError(err, what)) : resolve(value)));
  });
}

/** Creates `path` and its missing parents as persistent nodes. */
export const mkdirp = (c: ZkClient, path: string) =>
  call<string>(`mkdirp ${path}`, (done) => c.mkdirp(path, done));

/** Creates one EPHEMERAL node: it lives exactly as long as this client's session. */
export const createEphemeral = (c: ZkClient, path: string, data: Buffer) =>
  call<string>(`create ${path}`, (done) => c.create(path, data, zookeeper.CreateMode.EPHEMERAL, done));

/** Deletes one node (any version). */
export const remove = (c: ZkClient, path: string) =>
  call<void>(`remove ${path}`, (done) => c.remove(path, -1, (err) => done(err, undefined)));

/** The node's stat, or null when it does not exist; `watcher` fires on its creation/deletion/change. */
export const exists = (c: ZkClient, path: string, watcher?: ZkWatcher) =>
  call<zookeeper.Stat | null>(`exists ${path}`, (done) =>
    watcher ? c.exists(path, watcher, done) : c.exists(path, done),
  );

/** Child names; `watcher` fires once when the set of children changes. */
export const getChildren = (c: ZkClient, path: string, watcher: ZkWatcher) =>
  call<string[]>(`getChildren ${path}`, (done) =>
    c.getChildren(path, watcher, (err, children) => done(err, children)),
  );

/** The node's data; `watcher` fires once when it changes or the node is deleted. */
export const getData = (c: ZkClient, path: string, watcher: ZkWatcher) =>
  call<Buffer | null>(`getData ${path}`, (done) => c.getData(path, watcher, (err, data) => done(err, data)));

/** Removes `path` and everything under it (tests' cleanup of their own root). */
export async function removeTree(c: ZkClient, path: string): Promise<void> {
  let children: string[];
  try {
    children = await call<string[]>(`getChildren ${path}`, (done) =>
      c.getChildren(path, (err, list) => done(err, list)),
    );
  } catch (err) {
    if (isNoNode(err)) return;
    throw err;
  }
  await Promise.all(children.map((child) => removeTree(c, `${path}/${child}`)));
  await remove(c, path).catch((err) => {
    if (!isNoNode(err)) throw err;
  });
}

/** Replaces the node's data (any version). */
export const setData = (c: ZkClient, path: string, data: Buffer) =>
  call<unknown>(`setData ${path}`, (done) => c.setData(path, data, -1, done));
