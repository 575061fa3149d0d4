import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { DeepPartial } from "../../lib/config/deep.js";
import type { Config } from "../../lib/config/index.js";
import { deliveryQueue, sessionKey } from "../../lib/sessions/session-record.js";
import {
  APP_ID,
  type Infra,
  type InstanceInfra,
  login,
  memoryInfra,
  metric,
  realInfra,
  startTestGateway,
} from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * Done-when of issue 3: multi-login modes 1–4 (spec §4.3) with devices spread over two gateway
 * instances that share kv and bus, checking exactly which devices get 9002 and are closed (D24).
 * Runs twice: on the embedded adapters (one MemoryKvStore + MemoryBus shared in process) and on
 * Redis + RabbitMQ with separate connections per instance, as two real nodes would have.
 */

// ClientType numbers (spec §4.1).
const WEBAPI = 0;
const WEB = 1;
const IOS = 2;
const ANDROID = 3;
const WINDOWS = 4;
const MAC = 5;
const A = 0;
const B = 1;

type Device = readonly [clientType: number, node: 0 | 1];

interface Row {
  name: string;
  existing: Device[];
  incoming: Device;
  /** Indexes into `existing` that must get 9002 and be closed. */
  kicked: number[];
}

/** Rows per mode. Each row's existing devices do not kick each other under the row's mode. */
const TABLE: Record<number, Row[]> = {
  1: [
    {
      name: "a device on the other node is kicked",
      existing: [[IOS, B]],
      incoming: [ANDROID, A],
      kicked: [0],
    },
    { name: "a device on the same node is kicked", existing: [[WEB, A]], incoming: [MAC, A], kicked: [0] },
  ],
  2: [
    {
      name: "web stays, the other device goes",
      existing: [
        [WEB, A],
        [IOS, B],
      ],
      incoming: [ANDROID, A],
      kicked: [1],
    },
    {
      name: "webapi is kicked, web is not",
      existing: [
        [WEB, B],
        [WEBAPI, A],
      ],
      incoming: [WINDOWS, B],
      kicked: [1],
    },
    { name: "a web login kicks nobody", existing: [[IOS, A]], incoming: [WEB, B], kicked: [] },
  ],
  3: [
    {
      name: "mobile kicks only mobile",
      existing: [
        [WEB, A],
        [WEBAPI, B],
        [IOS, A],
        [MAC, B],
      ],
      incoming: [ANDROID, B],
      kicked: [2],
    },
    {
      name: "desktop kicks only desktop",
      existing: [
        [WEB, A],
        [WEBAPI, B],
        [IOS, A],
        [MAC, B],
      ],
      incoming: [WINDOWS, A],
      kicked: [3],
    },
    {
      name: "a second web kicks nobody",
      existing: [
        [WEB, A],
        [IOS, B],
      ],
      incoming: [WEB, B],
      kicked: [],
    },
    {
      name: "the same type with another imei is kicked",
      existing: [[IOS, A]],
      incoming: [IOS, B],
      kicked: [0],
    },
  ],
  4: [
    {
      name: "nobody is kicked",
      existing: [
        [WEB, A],
        [IOS, B],
        [ANDROID, A],
        [MAC, B],
      ],
      incoming: [IOS, A],
      kicked: [],
    },
  ],
};

let userSeq = 0;
const newUser = () => `ml-${process.pid}-${++userSeq}`;

/** Two gateway instances sharing kv and bus, with their clients. */
class Pair {
  readonly gateways: GatewayHandle[] = [];
  readonly clients: RawClient[] = [];
  /** The domain's stand-in: its own kv and bus connections, as another process would have. */
  #publisher: Promise<InstanceInfra> | undefined;
  constructor(readonly infra: Infra) {}

  async start(overrides: DeepPartial<Config>): Promise<void> {
    for (const name of ["node-a", "node-b"]) {
      this.gateways.push(
        await startTestGateway({
          nodeId: `${name}-${++userSeq}`,
          infra: await this.infra.instance(),
          overrides,
        }),
      );
    }
  }

  /** Connects a device (WEB over WebSocket, the rest over TCP) and logs it in. */
  async device(userId: string, [clientType, node]: Device, imei: string): Promise<RawClient> {
    const g = this.gateways[node] as GatewayHandle;
    const c = clientType === WEB ? await RawClient.ws(g.wsPort) : await RawClient.tcp(g.tcpPort);
    this.clients.push(c);
    await login(c, userId, { clientType, imei });
    return c;
  }

  /** Pushes a 1103 to every device of the user on both nodes, as the domain would. */
  async pushToAll(userId: string, messageId: string): Promise<void> {
    this.#publisher ??= this.infra.instance();
    const { bus } = await this.#publisher;
    for (const g of this.gateways) {
      const deliveries = [
        {
          appId: APP_ID,
          userId,
          clientType: 0,
          imei: "",
          command: 1103,
          dataJson: Buffer.from(JSON.stringify({ messageId })),
          closeAfter: false,
          connectionId: "",
        },
      ];
      await bus.publish(deliveryQueue(g.nodeId), DeliveryBatch.encode({ deliveries, payloads: [] }).finish());
    }
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const g of this.gateways) await g.stop();
  }
}

/** The 1103 (not a 9002) is the next frame: the device was not kicked and still receives. */
async function expectStillReceiving(c: RawClient, messageId: string): Promise<void> {
  const frame = await c.next();
  expect(frame.command, frame.text).toBe(1103);
  expect(frame.text).toContain(messageId);
  expect(c.closed).toBe(false);
}

/** Spec §2.2/§2.3 shapes of MUTALOGIN: TCP `null`, WebSocket the pack without data. */
function expectMutaLogin(
  c: RawClient,
  frame: { command: number; text: string; json: unknown },
  userId: string,
) {
  expect(frame.command).toBe(9002);
  if (c.kind === "tcp") expect(frame.text).toBe("null");
  else expect(frame.json).toEqual({ clientType: 0, command: 9002, toId: userId, userId });
}

describe.each([
  ["memory", memoryInfra],
  ["redis+rabbitmq", realInfra],
])("multi-login across two gateways (%s)", (_name, makeInfra) => {
  describe.each([1, 2, 3, 4])("loginMode %i", (mode) => {
    let pair: Pair;
    let infra: Infra;
    beforeAll(async () => {
      infra = makeInfra();
      pair = new Pair(infra);
      await pair.start({ gateway: { loginMode: mode } });
    });
    afterAll(async () => {
      await pair.stop();
      await infra.close();
    });

    it.each(TABLE[mode] ?? [])("$name", async (row) => {
      const userId = newUser();
      const existing: RawClient[] = [];
      for (const [i, device] of row.existing.entries())
        existing.push(await pair.device(userId, device, `dev${i}`));
      const kickedBefore = await metric(pair.gateways[A] as GatewayHandle, "whaleshark_gateway_kicks_total");
      const kickedBeforeB = await metric(pair.gateways[B] as GatewayHandle, "whaleshark_gateway_kicks_total");
      const incoming = await pair.device(userId, row.incoming, "new");

      const kv = await infra.kv();
      for (const [i, c] of existing.entries()) {
        if (!row.kicked.includes(i)) continue;
        expectMutaLogin(c, await c.next(), userId);
        await c.waitClosed();
        const field = `${row.existing[i]?.[0]}:dev${i}`;
        expect(JSON.parse((await kv.hget(sessionKey(APP_ID, userId), field)) ?? "{}").connectState).toBe(2);
      }
      await pair.pushToAll(userId, "after-login");
      for (const [i, c] of existing.entries()) {
        if (!row.kicked.includes(i)) await expectStillReceiving(c, "after-login");
      }
      await expectStillReceiving(incoming, "after-login");
      const kicks =
        (await metric(pair.gateways[A] as GatewayHandle, "whaleshark_gateway_kicks_total")) -
        kickedBefore +
        (await metric(pair.gateways[B] as GatewayHandle, "whaleshark_gateway_kicks_total")) -
        kickedBeforeB;
      expect(kicks).toBe(row.kicked.length);
    });
  });

  describe("special cases", () => {
    let pair: Pair;
    let notify: Pair;
    let infra: Infra;
    beforeAll(async () => {
      infra = makeInfra();
      pair = new Pair(infra);
      await pair.start({ gateway: { loginMode: 3 } });
      notify = new Pair(infra);
      await notify.start({ gateway: { loginMode: 1, kickMode: "notify" } });
    });
    afterAll(async () => {
      await pair.stop();
      await notify.stop();
      await infra.close();
    });

    it("the same device logging in on the other node closes its old connection without 9002", async () => {
      const userId = newUser();
      const old = await pair.device(userId, [IOS, A], "same");
      const fresh = await pair.device(userId, [IOS, B], "same");
      await old.waitClosed();
      expect(old.frames.map((f) => f.command)).toEqual([9001]);
      const record = JSON.parse(
        (await (await infra.kv()).hget(sessionKey(APP_ID, userId), `${IOS}:same`)) ?? "{}",
      );
      expect(record).toMatchObject({ nodeId: pair.gateways[B]?.nodeId, connectState: 1 });
      await pair.pushToAll(userId, "still-there");
      await expectStillReceiving(fresh, "still-there");
    });

    it("kickMode notify sends 9002 only: the kicked device stays open and online (the original)", async () => {
      const userId = newUser();
      const kicked = await notify.device(userId, [IOS, B], "old");
      await notify.device(userId, [ANDROID, A], "new");
      expectMutaLogin(kicked, await kicked.next(), userId);
      await notify.pushToAll(userId, "after-notify");
      await expectStillReceiving(kicked, "after-notify");
      const record = JSON.parse(
        (await (await infra.kv()).hget(sessionKey(APP_ID, userId), `${IOS}:old`)) ?? "{}",
      );
      expect(record.connectState).toBe(1);
    });
  });
});
