import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { type Infra, memoryInfra, metric, startTestGateway, userSign } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * Issue 14 item 5: the original's browser clients count every non-ASCII character of a body as 3
 * bytes and pad the frame with NULs up to that length. The gateway accepts a complete JSON body
 * followed by NUL padding (and counts it), and still refuses any other trailing bytes.
 */
let infra: Infra;
let gateway: GatewayHandle;

beforeAll(async () => {
  infra = memoryInfra();
  gateway = await startTestGateway({ nodeId: "gw-nul", infra: await infra.instance() });
});

afterAll(async () => {
  await gateway.stop();
  await infra.close();
});

const utf8 = (text: string) => new TextEncoder().encode(text);
const padded = (text: string, nuls: number) => {
  const bytes = utf8(text);
  const out = new Uint8Array(bytes.length + nuls);
  out.set(bytes);
  return out;
};

describe("a JSON body followed by NUL padding", () => {
  it.each(["tcp", "ws"] as const)("is accepted on %s and counted", async (kind) => {
    const before = await metric(gateway, "whaleshark_gateway_nul_padded_frames_total", { transport: kind });
    const c = await RawClient.connect(kind, kind === "tcp" ? gateway.tcpPort : gateway.wsPort);
    const userId = `zoë-${kind}`; // ë: 2 bytes in UTF-8, 3 as the old clients counted it
    const body = JSON.stringify({ userId, userSign: userSign(userId) });
    c.send({ command: 9000, body: padded(body, 1) });
    const ack = await c.next();
    expect(ack.command, ack.text).toBe(9001);
    expect(await metric(gateway, "whaleshark_gateway_nul_padded_frames_total", { transport: kind })).toBe(
      before + 1,
    );
    c.close();
  });

  it.each([
    ["other bytes before the padding", '{"userId":"x"}x'],
    ["an incomplete body", '{"userId":"x"'],
  ])("is refused with %s (90001)", async (_name, text) => {
    const c = await RawClient.connect("ws", gateway.wsPort);
    c.send({ command: 9000, body: padded(text, 3) });
    const frame = await c.next();
    expect(frame.command).toBe(9006);
    expect(frame.json).toMatchObject({ data: { code: 90001, ok: false } });
    c.close();
  });
});
