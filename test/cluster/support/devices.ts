import WebSocket from "ws";
import { GatewayTransport, RouteServiceService } from "../../../gen/ts/whaleshark/v1/route_service.js";
import type { AppClient } from "../../../lib/app-client/index.js";
import { HeaderOffset } from "../../../lib/wire/index.js";
import {
  type ChatMessage,
  type Receipt,
  type ResendPolicy,
  type TransportFactory,
  type WebSocketConstructor,
  WhaleSharkClient,
  wsTransport,
} from "../../../sdk/index.js";
import { tcpTransport } from "../../../sdk/transport/tcp.js";
import { ADMIN_ID, APP_ID, DOMAIN_TARGET, NAMES, type TestCluster } from "../../support/cluster.js";
import { appClient, type Signer } from "./app-client.js";

/** A gateway endpoint a device connects to. */
export interface Endpoint {
  host: string;
  port: number;
  transport: "tcp" | "ws";
}

/** How to open one device of a user. */
export interface DeviceOptions {
  userId: string;
  imei: string;
  /** ClientType (spec §4.1); default 3 (Android). 1 (web) is routed to a WebSocket endpoint. */
  clientType?: number;
  /** Connect here every time instead of asking the routing call (a device pinned to a gateway). */
  fixed?: Endpoint;
  /** Awaited before every connection attempt, so a test can hold a device offline. */
  gate?: () => Promise<void>;
  /** Reconnect after a lost connection (default true, fast: 0.2 s doubling to 1 s). */
  reconnect?: boolean;
  /**
   * The SDK's resend policy (default: fast for tests, 0.3 s doubling to 1.5 s, 40 writes); `{}`
   * gives the SDK's own defaults, as a real client has them.
   */
  resend?: Partial<ResendPolicy>;
}

/** An SDK client and everything it received. */
export interface Device {
  userId: string;
  imei: string;
  client: WhaleSharkClient;
  /** Chat messages as the SDK emitted them (each messageKey at most once). */
  messages: ChatMessage[];
  receipts: Receipt[];
  /** `host:port` of every gateway it connected to, in order (the routing call's answers). */
  gateways: string[];
  /** Chat frames (1103 / 2104) that reached it, redeliveries the SDK dropped included. */
  pushes: number;
  /** Chat frames (1103 / 2104) it wrote, resends included. */
  sendWrites: number;
}

/**
 * SDK devices of a test cluster. Unless pinned, a device finds its gateway the way a real client
 * does: before every connection attempt (the first and each reconnect) its app asks
 * RouteService.GetGatewayAddress on the domains (through the test's `zk:///` resolver) and the
 * device opens TCP, or WebSocket for web clients, to the answer.
 */
export class Devices {
  readonly #devices: Device[] = [];
  /** One channel for every device's routing calls (the app admin may route any user). */
  readonly #router: AppClient;

  constructor(private readonly cluster: Signer) {
    this.#router = appClient(cluster, ADMIN_ID, DOMAIN_TARGET);
  }

  /** Creates a device (not yet connected). */
  open(opts: DeviceOptions): Device {
    const clientType = opts.clientType ?? 3;
    const router = this.#router;
    const gateways: string[] = [];
    /** Endpoints this device could not reach, with when: asked to be avoided for a while (below). */
    const unreachable = new Map<string, number>();
    const transport: TransportFactory = async (sink) => {
      await opts.gate?.();
      for (const [name, at] of unreachable) if (Date.now() - at > AVOID_FOR_MS) unreachable.delete(name);
      const at =
        opts.fixed ?? (await route(router, opts.userId, clientType, opts.imei, [...unreachable.keys()]));
      const name = `${at.host}:${at.port}`;
      gateways.push(name);
      // Counts the chat frames both ways (the SDK shows neither resends nor dropped redeliveries).
      const counted = {
        frame: (frame: Parameters<typeof sink.frame>[0]) => {
          if (isChat(frame.command)) device.pushes++;
          sink.frame(frame);
        },
        closed: (error?: Error) => sink.closed(error),
      };
      const open =
        at.transport === "ws"
          ? wsTransport({
              url: `ws://${at.host}:${at.port}/ws`, // gateway.wsPath, the default
              WebSocket: WebSocket as unknown as WebSocketConstructor,
            })(counted)
          : tcpTransport({ host: at.host, port: at.port, connectTimeoutMs: 2000 })(counted);
      const t = await open.catch((error: unknown) => {
        unreachable.set(name, Date.now());
        throw error;
      });
      return {
        kind: t.kind,
        close: () => t.close(),
        send: (bytes: Uint8Array) => {
          if (
            bytes.length >= 4 &&
            isChat(new DataView(bytes.buffer, bytes.byteOffset).getInt32(HeaderOffset.COMMAND))
          )
            device.sendWrites++;
          return t.send(bytes);
        },
      };
    };
    const client = new WhaleSharkClient({
      transport,
      appId: APP_ID,
      userId: opts.userId,
      clientType,
      imei: opts.imei,
      userSign: () => this.cluster.sign(opts.userId),
      resend: opts.resend ?? { initialMs: 300, maxMs: 1500, maxAttempts: 40 },
      reconnect: opts.reconnect === false ? false : { initialMs: 200, maxMs: 1000, jitter: 0.2 },
    });
    const device: Device = {
      userId: opts.userId,
      imei: opts.imei,
      client,
      messages: [],
      receipts: [],
      gateways,
      pushes: 0,
      sendWrites: 0,
    };
    client.on("message", (m) => device.messages.push(m));
    client.on("receipt", (r) => device.receipts.push(r));
    this.#devices.push(device);
    return device;
  }

  /** Opens a device and logs it in. */
  async connect(opts: DeviceOptions): Promise<Device> {
    const device = this.open(opts);
    await device.client.connect();
    return device;
  }

  /** Closes every device and routing channel. */
  closeAll(): void {
    for (const d of this.#devices) d.client.close();
    this.#router.close();
  }
}

const isChat = (command: number) => command === 1103 || command === 2104;

/** Where gateway member `name` (e.g. `gateway-2`) registered its TCP or WebSocket endpoint. */
export function endpoint(cluster: TestCluster, name: string, transport: "tcp" | "ws"): Endpoint {
  const service = transport === "tcp" ? NAMES.gatewayTcp : NAMES.gatewayWs;
  const instance = cluster.member(name).instances[service];
  if (instance === undefined) throw new Error(`${name} has no ${service} registration`);
  return { host: instance.host, port: instance.port, transport };
}

/**
 * How long a device asks RouteService to avoid a gateway it could not reach: about as long as a
 * killed gateway stays registered (the test cluster's discovery session timeout).
 */
const AVOID_FOR_MS = 10_000;

/** RouteService.GetGatewayAddress for one device (spec §4.6), avoiding `avoid` (`host:port`) if it can. */
export async function route(
  router: AppClient,
  userId: string,
  clientType: number,
  imei = "",
  avoid: string[] = [],
): Promise<Endpoint> {
  const r = await router.call(
    RouteServiceService.getGatewayAddress,
    { userId, clientType, imei, avoid },
    { timeoutMs: 3000 },
  );
  return {
    host: r.ip,
    port: r.port,
    transport: r.transport === GatewayTransport.GATEWAY_TRANSPORT_WS ? "ws" : "tcp",
  };
}

/** The first `<prefix>-<n>` the routing call sends to the TCP endpoint `gateway` (HASH, spec §4.6). */
export async function userRoutedTo(router: AppClient, prefix: string, gateway: Endpoint): Promise<string> {
  for (let n = 0; n < 64; n++) {
    const userId = `${prefix}-${n}`;
    const at = await route(router, userId, 3);
    if (at.host === gateway.host && at.port === gateway.port) return userId;
  }
  throw new Error(`no ${prefix}-<n> is routed to ${gateway.host}:${gateway.port}`);
}
