import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnChild } from "../target/child-process.js";
import type { GatewayEndpoint } from "../target/target.js";
import { broadcastComparison } from "./baseline-broadcast.js";
import { echoComparison } from "./baseline-echo.js";
import type { ScenarioContext } from "./context.js";

const BARE_SERVER = fileURLToPath(new URL("../baseline/bare-ws-server.ts", import.meta.url));

/**
 * baseline: the same work against a bare `ws` server (bench/baseline/bare-ws-server.ts, its own
 * process, the gateway's WebSocket settings) and against the gateway, in one run, so the gateway's
 * cost is a ratio, not a guess.
 *
 * Echo (closed loop, `connections` × `window` frames in flight, raw `ws` clients on both sides):
 * - bare: the server sends each frame back;
 * - gateway-local: the same 1103 frame with a foreign fromId, which the gateway answers itself
 *   with 9006 / 60005 after reading, decoding and dispatching it (D26), without the domain: the
 *   gateway's own per-frame cost (PING would be the natural echo, but it has no answer, spec §4.5);
 * - gateway-chat (SDK): 1103 to a peer on the same gateway → ACK 1046, the whole send path
 *   through the domain (one in flight per sender).
 * Broadcast (open loop, `rate` msgs/s to `online` receivers): bare fan-out by the server vs a
 * group message to a group whose `online` receivers are all connected.
 */
export async function runBaseline(ctx: ScenarioContext): Promise<void> {
  const gateway = ctx.target.gateways[0] as GatewayEndpoint;
  const { child, ready } = await spawnChild({
    name: "bare-ws",
    args: ["--import", "tsx", BARE_SERVER],
    env: {},
    logFile: join(ctx.target.logDir, "bare-ws.log"),
    readyWhen: (l) => l.msg === "bare ws listening",
  });
  const bare = { url: `ws://127.0.0.1:${Number(ready[0]?.port)}`, pid: child.pid };
  try {
    await echoComparison(ctx, bare, gateway);
    await broadcastComparison(ctx, bare, gateway);
  } finally {
    await child.stop();
  }
}
