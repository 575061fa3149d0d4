import { generateUserSign } from "../../lib/auth/index.js";
import { MessageEncoding, WhaleSharkClient } from "../../sdk/index.js";
import type { AgentCounters, OpenResult, OpenSpec } from "./agent-protocol.js";
import type { ProblemLog } from "./problem-log.js";
import { benchTransport } from "./transports.js";

/** Android (spec §4.1): any mobile type; one device per user in every scenario. */
const CLIENT_TYPE = 3;

/**
 * Opens and logs in one SDK client per spec, `spec.concurrency` at a time, adding them to
 * `clients`. Reconnecting is off: a dropped connection must show in the counts (`dropped`), not
 * be papered over by a silent re-login. Resolves when every login settled.
 */
export async function openClients(
  spec: OpenSpec,
  clients: Map<string, WhaleSharkClient>,
  counters: AgentCounters,
  isClosing: () => boolean,
  problems: ProblemLog,
): Promise<OpenResult> {
  const started = performance.now();
  const errors: string[] = [];
  let failed = 0;
  let next = 0;
  const openOne = async (index: number) => {
    const c = spec.clients[index];
    if (c === undefined) return;
    const userSign = generateUserSign({
      appId: spec.appId,
      identifier: c.userId,
      privateKey: spec.privateKey,
      expireSeconds: 86_400,
    });
    const client = new WhaleSharkClient({
      transport: benchTransport(c.kind, c.endpoint, c.localAddress, spec.maxFrameBytes),
      appId: spec.appId,
      userId: c.userId,
      clientType: CLIENT_TYPE,
      imei: `bench-${c.kind}`,
      userSign,
      encoding: spec.encoding === 1 ? MessageEncoding.PROTOBUF : MessageEncoding.JSON,
      heartbeatMs: spec.heartbeatMs,
      reconnect: false,
      autoReceiveAck: spec.autoReceiveAck,
      ...(spec.sync ? {} : { sync: false as const }),
      loginTimeoutMs: 60_000,
      ...(spec.maxInFlight === undefined ? {} : { maxInFlight: spec.maxInFlight }),
    });
    try {
      await client.connect();
      clients.set(c.userId, client);
      counters.connected++;
      client.on("close", ({ error }) => {
        if (isClosing()) return;
        counters.dropped++;
        problems.add(`dropped ${c.userId}: ${error?.message ?? "closed by the server"}`);
      });
      client.on("error", (error) => problems.add(`client error ${c.userId}: ${error.message}`));
    } catch (error) {
      failed++;
      counters.connectFailed++;
      if (errors.length < 5) errors.push(`${c.userId}: ${(error as Error).message}`);
    }
  };
  const lane = async () => {
    while (next < spec.clients.length) await openOne(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, lane));
  return {
    opened: spec.clients.length - failed,
    failed,
    errors,
    elapsedMs: Math.round(performance.now() - started),
  };
}
