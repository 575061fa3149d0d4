import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageAck } from "../../gen/ts/whaleshark/v1/message.js";
import { TestCluster } from "../support/cluster.js";
import { eventually } from "../support/harness/eventually.js";
import { seed } from "./support/app-client.js";
import { type Device, Devices } from "./support/devices.js";

/**
 * Issue 15 item 4: a domain dies between giving a message its sequence and publishing it. The
 * first domain (support/crashing-domain.ts) SIGKILLs itself at the publish of message M's store
 * job; a second domain takes over, and M's resend publishes it under its sequence once the dead
 * holder's record is old enough (send-dedupe.ts takeoverMs, 2 s), while
 * the sender's other device goes on in the same conversation with higher sequences. The
 * receiver's application must get the conversation in sequence order: every message the SDK emits
 * as in order has a higher sequence than all before it, and M comes either in its place (the
 * hole was filled before the receiver got past it: what the 2 s settle gives in practice) or, if
 * it comes after higher sequences, flagged `late` (sdk/conversation-order.ts; the frames-level
 * test of that path is in sdk/message-sync.test.ts), never unflagged below newer ones.
 */

const child = fileURLToPath(new URL("./support/crashing-domain.ts", import.meta.url));
const MARKER = "order-crash-M";

describe("a domain killed between sequence assignment and publish", () => {
  let cluster: TestCluster;
  let devices: Devices;
  let crashing: ChildProcess | undefined;
  let sender: Device;
  /** The sender's second device: its sends do not queue behind M's resends on the first one's connection. */
  let tablet: Device;
  let receiver: Device;
  const lines: string[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.create();
    await cluster.startAll(["store", 1], ["gateway", 1]);
    crashing = spawn(process.execPath, ["--import", "tsx", child, MARKER], {
      env: {
        ...cluster.resources.env,
        WHALESHARK_NODE_ID: `${cluster.resources.env.WHALESHARK_NODE_ID}-crashing-domain`,
        WHALESHARK_WORKER_ID: "21",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: crashing.stdout as NodeJS.ReadableStream }).on("line", (l) => lines.push(l));
    await eventually(() => lines.includes("registered"), 45_000, "the crashing domain registered");
    await seed(cluster, { users: ["oc-sender", "oc-receiver"], friends: [["oc-sender", "oc-receiver"]] });
    devices = new Devices(cluster);
    sender = await devices.connect({ userId: "oc-sender", imei: "sender-phone" });
    tablet = await devices.connect({ userId: "oc-sender", imei: "sender-tablet", clientType: 4 });
    receiver = await devices.connect({ userId: "oc-receiver", imei: "receiver-phone" });
  }, 90_000);

  afterAll(async () => {
    devices?.closeAll();
    crashing?.kill("SIGKILL");
    await cluster?.close();
  }, 30_000);

  it("delivers the conversation in sequence order: the late message flagged, never shown below newer ones", async () => {
    const send = (messageId: string, from = sender) =>
      from.client.sendP2P({ toId: "oc-receiver", messageBody: messageId, messageId });
    const acks: Array<Promise<MessageAck>> = [];
    for (const id of ["oc-1", "oc-2"]) acks.push(send(id));
    await Promise.all(acks);
    const exited = new Promise((resolve) => crashing?.once("exit", resolve));
    acks.push(send(MARKER));
    await exited; // died at M's publish: M has its sequence, the bus never got its job
    const crashLine = lines.find((l) => l.startsWith("crashing"));
    console.info(crashLine);
    expect(crashLine).toBeDefined();
    await cluster.start("domain", 2);
    // Later messages of the conversation, from the sender's other device: sequenced by the second
    // domain while M's resend waits for the dead holder's claim.
    for (const id of ["oc-3", "oc-4", "oc-5"]) acks.push(send(id, tablet));
    const answered = await Promise.all(acks);
    expect(answered.every((a) => a.code === 200)).toBe(true);
    const seq = new Map(answered.map((a) => [a.data?.messageId ?? "", a.data?.messageSequence ?? 0]));
    // M took its sequence before the crash, below the ones sent after it.
    expect(seq.get(MARKER)).toBeLessThan(seq.get("oc-3") as number);

    await eventually(() => receiver.messages.length === 6, 30_000, "the receiver got all six");
    const got = receiver.messages.map((m) => ({
      id: m.message.messageId,
      sequence: m.message.messageSequence,
      late: m.late,
    }));
    console.info(
      `receiver got: ${got.map((g) => `${g.id}#${g.sequence}${g.late ? " (late)" : ""}`).join(", ")}`,
    );
    // In order as emitted, or flagged late below what came before.
    let highest = 0;
    for (const g of got) {
      if (g.late) expect(g.sequence, `${g.id} flagged late only below ${highest}`).toBeLessThan(highest);
      else expect(g.sequence, `${g.id} after ${highest}`).toBeGreaterThan(highest);
      highest = Math.max(highest, g.sequence);
    }
    // The application, putting a late one in its place, shows the conversation in sequence order.
    const shown = [...got].sort((a, b) => a.sequence - b.sequence).map((g) => g.id);
    expect(shown).toEqual(["oc-1", "oc-2", MARKER, "oc-3", "oc-4", "oc-5"]);
    // Each message once.
    expect(new Set(got.map((g) => g.id)).size).toBe(6);
  }, 90_000);
});
