import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, whaleshark } from "./child-process.js";
import {
  adminFactory,
  type BenchTarget,
  benchApp,
  commonEnv,
  gatewayEndpoint,
  nodeFlags,
  type TargetOptions,
} from "./target.js";

/**
 * The embedded profile as users run it: `whaleshark start`, every role in one child process on
 * memory kv and bus and PGlite in a fresh data directory, on ports picked free for the run (so
 * readiness does not depend on the log level).
 */
export async function startEmbedded(options: TargetOptions): Promise<BenchTarget> {
  const app = benchApp();
  const dataDir = mkdtempSync(join(tmpdir(), "whaleshark-bench-"));
  const [domainPort, tcpPort, wsPort, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const { child } = await whaleshark(
    ["start"],
    {
      name: "whaleshark",
      env: {
        ...commonEnv(app, options),
        WHALESHARK_PROFILE: "embedded",
        WHALESHARK_DATA_DIR: dataDir,
        WHALESHARK_DOMAIN__PORT: String(domainPort),
        WHALESHARK_STORE__PORT: "0",
        WHALESHARK_GATEWAY__TCP_PORT: String(tcpPort),
        WHALESHARK_GATEWAY__WS_PORT: String(wsPort),
        WHALESHARK_METRICS__GATEWAY_PORT: String(metricsPort),
      },
      logFile: join(options.logDir, "whaleshark.log"),
      // The gateway starts last (app/roles.ts startOrder): its WebSocket port open = all roles up.
      readyPort: wsPort,
    },
    nodeFlags(options),
  );
  const domainAddress = `127.0.0.1:${domainPort}`;
  return {
    profile: "embedded",
    app,
    domainAddress,
    gateways: [gatewayEndpoint("whaleshark", child.pid, { tcpPort, wsPort, metricsPort })],
    processes: [{ name: "whaleshark", pid: child.pid }],
    logDir: options.logDir,
    admin: adminFactory(app, domainAddress),
    async stop() {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
