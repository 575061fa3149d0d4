import { parseArgs } from "node:util";
import { generateUserSign } from "../lib/auth/index.js";
import { type Config, ConfigError, loadConfig, type Need } from "../lib/config/index.js";
import { createRootLogger, roleLogger } from "../lib/log/index.js";
import type { RoleName } from "../lib/role/role.js";
import { runUntilSignal } from "./lifecycle.js";

// What a command runs is imported when it runs (issue 18, start-up time): `token`, `help` and
// `migrate` load no role, adapter or gRPC code.

const usage = `usage: whaleshark <command> [options]

commands:
  start                       every role in one process (profile from config; embedded by default)
  gateway | domain | store    one role
  migrate                     apply prisma/migrations to the profile's database
  cluster                     a local distributed cluster: migrate, then 2 stores, 2 domains and
                              2 gateways as separate processes (see deploy/README.md)
  token --app ID --user ID [--expire SECONDS]
                              print a userSign for that user, signed with the app's key
  user add ID... [--nickname NAME]
  friend add ID ID
  group create NAME --owner ID [--members ID,ID...]
                              create users, friendships, groups on a running server, signed as
                              the app's admin (--url HOST:PORT, default 127.0.0.1:18000; --app,
                              --admin; see README "Admin commands")
  help                        this text

options:
  --config FILE               configuration file (YAML or JSON); also WHALESHARK_CONFIG

Every setting can also come from WHALESHARK_* variables; see README.md "Configuration".`;

const ALL_NEEDS: readonly Need[] = ["apps", "database", "redis", "amqp"];

/**
 * What each command uses, so it asks for nothing else (issue 18): `migrate` talks to the database
 * alone; `token` signs with an app's key; `cluster` fills in the local servers itself (app/cluster.ts).
 * The roles and `start` need everything.
 */
const COMMAND_NEEDS: Record<string, readonly Need[]> = {
  migrate: ["database"],
  token: ["apps"],
  cluster: ["apps"],
};

/** Runs one `whaleshark` command and resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  if (command === "user" || command === "friend" || command === "group") {
    // Positional arguments and options of their own (app/admin-commands.ts); they need an app only.
    const { runAdminCommand } = await import("./admin-commands.js");
    return runAdminCommand(command, rest, (file) =>
      loadConfig({ ...(file === undefined ? {} : { file }), needs: ["apps"] }),
    );
  }
  let args: ReturnType<typeof parse>;
  try {
    args = parse(rest);
  } catch (err) {
    process.stderr.write(`whaleshark: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig({
      ...(args.values.config ? { file: args.values.config } : {}),
      needs: COMMAND_NEEDS[command] ?? ALL_NEEDS,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  switch (command) {
    case "token":
      return printToken(config, args.values);
    case "migrate": {
      const { runMigrate } = await import("./migrate.js");
      return runMigrate(config, createRootLogger(config.log, { cmd: "migrate" }));
    }
    case "start": {
      const { runAllInOne } = await import("./embedded.js");
      return runAllInOne(config, createRootLogger(config.log, { node: config.nodeId }));
    }
    case "cluster": {
      const { runCluster } = await import("./cluster.js");
      return runCluster(config, createRootLogger(config.log, { cmd: "cluster" }), {
        env: process.env,
        ...(args.values.config ? { file: args.values.config } : {}),
      });
    }
    case "gateway":
    case "domain":
    case "store":
      return runOne(command, config);
    default:
      process.stderr.write(`whaleshark: unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

function parse(rest: string[]) {
  return parseArgs({
    args: rest,
    options: {
      config: { type: "string" },
      app: { type: "string" },
      user: { type: "string" },
      expire: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
}

async function runOne(name: RoleName, config: Config): Promise<number> {
  const logger = createRootLogger(config.log, { node: config.nodeId });
  if (config.profile === "embedded") {
    // Memory kv and bus are private to a process: a lone role cannot reach the others.
    logger.warn({ role: name }, "one role in the embedded profile talks to nobody; use `whaleshark start`");
  }
  const [{ createDeps }, { preloadRole, OPENS_DATABASE_AT_START }, { startTracing }] = await Promise.all([
    import("./deps.js"),
    import("./roles.js"),
    import("../lib/tracing/start-tracing.js"),
  ]);
  // Before the role, so its first spans are exported; stopped after it (tracing.enabled, docs/tracing.md).
  const tracing = await startTracing(config, [name], logger);
  // The connections are opened first; the gRPC server's and the role's code load while they wait
  // for Redis, RabbitMQ and PostgreSQL (bench/RESULTS.md "start-up in one bundle").
  const connecting = createDeps(config, logger, { openDatabase: OPENS_DATABASE_AT_START.has(name) });
  connecting.catch(() => {}); // awaited below, after the imports; its failure is thrown there
  preloadRole(name);
  const [{ configureGrpcServers }, { withDomainMetrics }] = await Promise.all([
    import("../lib/grpc/server.js"),
    import("./embedded.js"),
  ]);
  configureGrpcServers(config);
  const deps = await connecting;
  const log = roleLogger(logger, name);
  const handle = await deps.startRole(name, log);
  const served = name === "domain" ? await withDomainMetrics(handle, config, log) : handle;
  return runUntilSignal([served], logger, async () => {
    try {
      await deps.close();
    } finally {
      await tracing.shutdown();
    }
  });
}

/** `whaleshark token`: the userSign alone on stdout, so scripts can capture it. */
function printToken(config: Config, values: { app?: string; user?: string; expire?: string }): number {
  const { app, user } = values;
  if (!app || !/^\d+$/.test(app) || !user) {
    process.stderr.write("whaleshark token: --app <numeric appId> and --user <userId> are required\n");
    return 2;
  }
  const appConfig = config.apps[app];
  if (!appConfig) {
    process.stderr.write(`whaleshark token: app ${app} is not configured (apps.${app}.privateKey)\n`);
    return 2;
  }
  const expireSeconds = values.expire === undefined ? config.auth.userSignTtlSeconds : Number(values.expire);
  if (!Number.isInteger(expireSeconds) || expireSeconds <= 0) {
    process.stderr.write("whaleshark token: --expire must be a positive number of seconds\n");
    return 2;
  }
  const token = generateUserSign({
    appId: Number(app),
    identifier: user,
    privateKey: appConfig.privateKey,
    expireSeconds,
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
