import { WebSocket } from "ws";
import { generateUserSign } from "../../../lib/auth/index.js";
import { encodeRequest } from "../../../sdk/frames.js";
import {
  type ChatMessage,
  type ClientOptions,
  type ClientTransport,
  MessageEncoding,
  type Receipt,
  type TransportFactory,
  type WebSocketConstructor,
  WhaleSharkClient,
  wsTransport,
} from "../../../sdk/index.js";
import { tcpTransport } from "../../../sdk/transport/tcp.js";

/** A gateway listener a device may connect to. */
export interface Endpoint {
  kind: "tcp" | "ws";
  port: number;
  /** WebSocket path (default `/ws`). */
  path?: string;
}

/** How a {@link TestDevice} is made. */
export interface TestDeviceOptions {
  appId: number;
  /** The app's userSign key. */
  privateKey: string;
  userId: string;
  imei: string;
  /** ClientType (spec §4.1); default 3 Android. */
  clientType?: number;
  /** Picks the endpoint of every (re)connect, so a reconnect may land on another gateway. */
  endpoint(): Endpoint;
  /** Any other client option (reconnect, resend, onReconnected, ...). */
  client?: Partial<Omit<ClientOptions, "transport" | "appId" | "userId" | "clientType" | "imei">>;
}

/** What a device emitted, with the local arrival order kept. */
export interface Seen<T> {
  at: number;
  value: T;
}

/**
 * One SDK client (WhaleSharkClient) of a test, with everything it emitted recorded, and two test
 * seams on its connection: {@link drop} (the network fails; the SDK reconnects by itself) and
 * {@link inject} (a frame for a command the SDK has no method for, e.g. 1050 recall).
 */
export class TestDevice {
  readonly client: WhaleSharkClient;
  readonly userId: string;
  readonly imei: string;
  readonly clientType: number;
  /** `message` events: chat messages after the SDK's de-duplication. */
  readonly messages: Array<Seen<ChatMessage>> = [];
  /** `receipt` events (1107, 1053, 1054, 2053, 2054). */
  readonly receipts: Array<Seen<Receipt>> = [];
  /** `notification` events (every other push, e.g. 1051, 1052). */
  readonly notifications: Array<Seen<{ command: number; data: unknown }>> = [];
  /** Logins so far (first connect and every reconnect). */
  logins = 0;
  /** False: every (re)connect attempt fails as if the network were down (see {@link goOffline}). */
  reachable = true;
  #current: ClientTransport | undefined;
  readonly #header: Parameters<typeof encodeRequest>[0];

  constructor(opts: TestDeviceOptions) {
    this.userId = opts.userId;
    this.imei = opts.imei;
    this.clientType = opts.clientType ?? 3;
    const transport: TransportFactory = async (sink) => {
      if (!this.reachable) throw new Error("network down (test)");
      const ep = opts.endpoint();
      const open =
        ep.kind === "tcp"
          ? tcpTransport({ host: "127.0.0.1", port: ep.port })
          : wsTransport({
              url: `ws://127.0.0.1:${ep.port}${ep.path ?? "/ws"}`,
              WebSocket: WebSocket as unknown as WebSocketConstructor,
            });
      const t = await open(sink);
      this.#current = t;
      return t;
    };
    this.client = new WhaleSharkClient({
      reconnect: false,
      ...opts.client,
      transport,
      appId: opts.appId,
      userId: opts.userId,
      clientType: this.clientType,
      imei: opts.imei,
      userSign: () =>
        generateUserSign({
          appId: opts.appId,
          identifier: opts.userId,
          privateKey: opts.privateKey,
          expireSeconds: 3600,
        }),
    });
    this.#header = {
      appId: opts.appId,
      clientType: this.clientType,
      imei: opts.imei,
      version: 1,
      encoding: MessageEncoding.JSON,
    };
    this.client.on("message", (m) => this.messages.push({ at: Date.now(), value: m }));
    this.client.on("receipt", (r) => this.receipts.push({ at: Date.now(), value: r }));
    this.client.on("notification", (n) => this.notifications.push({ at: Date.now(), value: n }));
    this.client.on("connected", () => {
      this.logins += 1;
    });
  }

  /** Connects and logs in. */
  async connect(): Promise<void> {
    await this.client.connect();
  }

  /**
   * Closes the current connection from the client side as a network failure would: the SDK sees an
   * unexpected close and, when reconnecting is on, logs in again (maybe on another gateway).
   */
  drop(): void {
    this.#current?.close();
  }

  /**
   * Takes the device off the network: the connection drops and reconnect attempts fail until
   * {@link goOnline}. The same client instance then reconnects and catches up by itself.
   */
  goOffline(): void {
    this.reachable = false;
    this.drop();
  }

  /** Lets the next reconnect attempt through. */
  goOnline(): void {
    this.reachable = true;
  }

  /** Chat messages that arrived by the catch-up sync rather than a live push. */
  synced(): ChatMessage[] {
    return this.chat().filter((m) => m.synced);
  }

  /** Writes one frame with this device's header on the current connection; false when offline. */
  inject(command: number, data: object): boolean {
    if (this.client.state !== "online") return false;
    return this.#current?.send(encodeRequest(this.#header, command, data)) ?? false;
  }

  /** Chat messages received, as their content. */
  chat(): ChatMessage[] {
    return this.messages.map((s) => s.value);
  }

  /** Receipts of one command. */
  receiptsOf(command: number): Receipt[] {
    return this.receipts.map((s) => s.value).filter((r) => r.command === command);
  }

  /** Notifications of one command, as their data. */
  notificationsOf(command: number): unknown[] {
    return this.notifications.filter((s) => s.value.command === command).map((s) => s.value.data);
  }

  close(): void {
    this.client.close();
  }
}
