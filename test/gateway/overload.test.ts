import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { FakeDomain } from "./support/fake-domain.js";
import { type Infra, login, memoryInfra, startTestGateway } from "./support/harness.js";
import { RawClient, type RawServerFrame } from "./support/raw-client.js";

/**
 * Issue 15 item 1 at the gateway: a resend never doubles the work. A resend of a send still in
 * flight joins it, one of a send accepted already is answered from the gateway's memory (no call:
 * the domain neither works on it again nor pushes it a second time), also when it comes on
 * another connection of the same user (a reconnect); and when sends wait too long for the
 * domain, new ones are shed at once with 60006 and a retryAfterMs, keeping the connection's order.
 */
const SECRET = "test-internal-secret-0123456789";
const SHED_AFTER_MS = 400;
let infra: Infra;
let domain: FakeDomain;
let gateway: GatewayHandle;
let seq = 0;

beforeAll(async () => {
  infra = memoryInfra();
  domain = new FakeDomain();
  const address = await domain.start();
  gateway = await startTestGateway({
    nodeId: "gw-overload",
    infra: await infra.instance(),
    overrides: {
      gateway: {
        forwardTimeoutMs: 5_000,
        shedSendsAfterMs: SHED_AFTER_MS,
        sendRatePerConnection: 0,
        sendRatePerUser: 0,
      },
      discovery: { domain: address },
      domain: { internalSecret: SECRET },
    },
  });
});

afterAll(async () => {
  await gateway.stop();
  await domain.stop();
  await infra.close();
});

beforeEach(() => {
  domain.behaviour = {};
  domain.calls.length = 0;
});

async function connect(userId: string): Promise<RawClient> {
  const c = await RawClient.connect("tcp", gateway.tcpPort);
  await login(c, userId, { clientType: 3, imei: `phone-${++seq}` });
  return c;
}

const send = (c: RawClient, messageId: string, toId = "peer") =>
  c.send({ command: 1103, body: { toId, messageId, messageBody: messageId } });

/** The next `n` ACKs (1046) of `c`, in arrival order. */
async function acks(c: RawClient, n: number): Promise<RawServerFrame[]> {
  const got: RawServerFrame[] = [];
  while (got.length < n) {
    const frame = await c.next(5_000);
    if (frame.command === 1046) got.push(frame);
  }
  return got;
}

const sentToDomain = (messageId: string) =>
  domain
    .of("sendP2PMessage")
    .filter((call) => (call.request as { content: { messageId: string } }).content.messageId === messageId)
    .length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("resends at the gateway", () => {
  it("joins a resend to the copy still in flight: one call, both frames answered", async () => {
    const c = await connect("ov-join");
    domain.behaviour = { delayMs: 100 }; // well below the shedding threshold
    send(c, "j1");
    await sleep(40);
    send(c, "j1"); // the client's resend timer fired: the same messageId again
    const [first, second] = await acks(c, 2);
    expect(first?.json).toMatchObject({ code: 200, data: { messageId: "j1", messageKey: 99 } });
    expect(second?.text).toBe(first?.text);
    expect(sentToDomain("j1")).toBe(1);
    c.close();
  });

  it("answers a resend of an accepted send from memory, also on the user's next connection", async () => {
    const c = await connect("ov-known");
    send(c, "k1");
    const [ack] = await acks(c, 1);
    expect(ack?.json).toMatchObject({ code: 200, data: { messageId: "k1" } });
    send(c, "k1"); // its ACK crossed the resend
    expect((await acks(c, 1))[0]?.text).toBe(ack?.text);
    c.close();
    const again = await connect("ov-known"); // the ACK was lost with the connection: a reconnect
    send(again, "k1");
    expect((await acks(again, 1))[0]?.text).toBe(ack?.text);
    expect(sentToDomain("k1")).toBe(1); // no second call, so no second push to the receiver
    // The same messageId to another conversation is not this send: the domain decides.
    send(again, "k1", "someone-else");
    await acks(again, 1);
    expect(sentToDomain("k1")).toBe(2);
    again.close();
  });
});

describe("load shedding", () => {
  it("refuses new sends with 60006 and a retryAfterMs once sends wait too long, keeping their order", async () => {
    const c = await connect("ov-shed");
    await sleep(1_100); // the fast answers of the tests before have aged out of the sojourn window
    domain.behaviour = { delayMs: 1_500 }; // the domain is overloaded: every send waits 1.5 s
    send(c, "s0");
    await sleep(SHED_AFTER_MS + 100); // s0 has waited past the threshold, nothing answered
    send(c, "s1", "peer-a");
    send(c, "s2", "peer-b");
    const [r1, r2] = await acks(c, 2);
    for (const [frame, id] of [
      [r1, "s1"],
      [r2, "s2"],
    ] as const) {
      const ack = frame?.json as {
        code: number;
        ok: boolean;
        msg: string;
        data: { messageId: string; retryAfterMs: number };
      };
      expect(ack).toMatchObject({ code: 60006, ok: false, data: { messageId: id } });
      expect(ack.msg).toContain("server busy");
      expect(ack.data.retryAfterMs).toBeGreaterThan(0);
    }
    expect(sentToDomain("s1") + sentToDomain("s2")).toBe(0); // shed: nothing reached the domain
    expect((await acks(c, 1))[0]?.json).toMatchObject({ code: 200, data: { messageId: "s0" } });
    // The domain is fast again; once the slow answers have aged out, the refused sends pass, in
    // their order: s2 alone is still refused (behind s1), then s1, s2 pass.
    domain.behaviour = {};
    await sleep(1_100);
    send(c, "s2", "peer-b");
    expect((await acks(c, 1))[0]?.json).toMatchObject({ code: 60006, data: { messageId: "s2" } });
    send(c, "s1", "peer-a");
    send(c, "s2", "peer-b");
    const passed = await acks(c, 2);
    expect(
      passed.map((f) => (f.json as { code: number; data: { messageId: string } }).data.messageId),
    ).toEqual(["s1", "s2"]);
    expect(passed.every((f) => (f.json as { code: number }).code === 200)).toBe(true);
    c.close();
  });
});
