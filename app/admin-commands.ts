import { parseArgs } from "node:util";
import {
  AppClient,
  AppClientOptionError,
  createGroup,
  ensureUsers,
  isUnreachable,
  makeFriends,
} from "../lib/app-client/index.js";
import { type Config, ConfigError } from "../lib/config/index.js";
import { errorCodeOf } from "../lib/grpc/errors.js";

export const adminUsage = `admin commands (against a running server, signed as the app's admin):
  user add ID... [--nickname NAME]        create users (friends at once when added)
  friend add ID ID                        make two users friends (both ways)
  group create NAME --owner ID [--members ID,ID...] [--id GROUP_ID]
                                          create a group owned by --owner
  options: --url HOST:PORT (the domain; default 127.0.0.1:<domain.port>, 18000)
           --app ID (default console.appId, 10001)   --admin ID (default the app's first adminIds)`;

/** Where the command's output goes (tests pass their own). */
export interface Out {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Out = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

class UsageError extends Error {}

/** The options every admin command takes. */
const OPTIONS = {
  config: { type: "string" },
  url: { type: "string" },
  app: { type: "string" },
  admin: { type: "string" },
  nickname: { type: "string" },
  owner: { type: "string" },
  members: { type: "string" },
  id: { type: "string" },
} as const;

/** Parses an admin command's arguments (everything after the command word). */
export function parseAdminArgs(rest: string[]) {
  return parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: true });
}

/** `--url` as a gRPC target: `host:port`, with an http:// prefix or a trailing slash tolerated. */
export function targetOf(url: string | undefined, config: Config): string {
  if (url === undefined) return `127.0.0.1:${config.domain.port === 0 ? 18000 : config.domain.port}`;
  const target = url.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  if (!/^[^\s/:]+:\d{1,5}$/.test(target) && !/^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(target)) {
    throw new UsageError(`--url must be host:port (the domain's gRPC/HTTP port), got ${JSON.stringify(url)}`);
  }
  return target;
}

/** The app and admin the calls are signed as: flags, else the config's console app and its first admin. */
function identityOf(config: Config, values: { app?: string; admin?: string }) {
  const appId = values.app ?? String(config.console.appId);
  if (!/^[1-9]\d{0,9}$/.test(appId))
    throw new UsageError(`--app must be a numeric app id, got ${JSON.stringify(appId)}`);
  const app = config.apps[appId];
  if (app === undefined) {
    throw new UsageError(`app ${appId} is not configured (WHALESHARK_APPS: its privateKey signs the calls)`);
  }
  const adminId = values.admin ?? app.adminIds?.[0];
  if (adminId === undefined) {
    throw new UsageError(`app ${appId} has no admin: set apps.${appId}.adminIds or pass --admin ID`);
  }
  return { appId: Number(appId), identity: { userId: adminId, privateKey: app.privateKey } };
}

/** A user id as the domain takes it (users.user_id is VARCHAR(50)). */
const USER_ID = /^[^\s]{1,50}$/;

function userIds(ids: readonly string[], what: string): string[] {
  for (const id of ids)
    if (!USER_ID.test(id)) throw new UsageError(`${what}: bad user id ${JSON.stringify(id)}`);
  return [...ids];
}

/**
 * Runs `whaleshark user|friend|group ...` and resolves with the exit code: 0 done, 1 refused or
 * unreachable (the reason on stderr: the error code and text, or the address it could not reach),
 * 2 bad usage or configuration.
 */
export async function runAdminCommand(
  command: string,
  rest: string[],
  loadConfig: (file: string | undefined) => Config,
  io: Out = stdio,
): Promise<number> {
  let parsed: ReturnType<typeof parseAdminArgs>;
  try {
    parsed = parseAdminArgs(rest);
  } catch (err) {
    io.err(`whaleshark ${command}: ${(err as Error).message}\n${adminUsage}\n`);
    return 2;
  }
  const [verb, ...args] = parsed.positionals;
  const name = `whaleshark ${command} ${verb ?? ""}`.trim();
  let admin: AppClient | undefined;
  let target = "";
  try {
    const config = loadConfig(parsed.values.config);
    const action = actionOf(command, verb, args, parsed.values);
    target = targetOf(parsed.values.url, config);
    admin = new AppClient({ target, ...identityOf(config, parsed.values), timeoutMs: 10_000 });
    return await action(admin, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof AppClientOptionError) {
      io.err(`${name}: ${err.message}\n${adminUsage}\n`);
      return 2;
    }
    if (isUnreachable(err)) {
      io.err(`${name}: cannot reach the server at ${target} (is whaleshark running? --url HOST:PORT)\n`);
      return 1;
    }
    const code = errorCodeOf(err as { metadata?: never });
    if (code !== undefined) {
      io.err(`${name}: refused with ${code}: ${(err as { details?: string }).details ?? ""}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      io.err(`${(err as Error).message}\n`);
      return 2;
    }
    io.err(`${name}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    admin?.close();
  }
}

type Action = (admin: AppClient, io: Out) => Promise<number>;

function actionOf(
  command: string,
  verb: string | undefined,
  args: string[],
  values: ReturnType<typeof parseAdminArgs>["values"],
): Action {
  if (command === "user" && verb === "add") {
    if (args.length === 0) throw new UsageError("give at least one user id");
    if (values.nickname !== undefined && args.length > 1)
      throw new UsageError("--nickname takes one user id");
    const ids = userIds(args, "user add");
    return async (admin, io) => {
      const users = ids.map((userId) => ({ userId, nickName: values.nickname ?? userId }));
      const result = await ensureUsers(admin, users);
      for (const id of result.created) io.out(`created ${id}\n`);
      for (const id of result.existing) io.out(`exists ${id}\n`);
      for (const id of result.refused) io.err(`refused ${id}\n`);
      return result.refused.length > 0 ? 1 : 0;
    };
  }
  if (command === "friend" && verb === "add") {
    if (args.length !== 2) throw new UsageError("give two user ids");
    const [a, b] = userIds(args, "friend add") as [string, string];
    if (a === b) throw new UsageError("a user cannot be their own friend");
    return async (admin, io) => {
      const links = await makeFriends(admin, a, b);
      for (const l of links)
        io.out(
          `${l.made ? "friends" : "unchanged (already friends, or a user is unknown)"} ${l.fromId} -> ${l.toId}\n`,
        );
      return 0;
    };
  }
  if (command === "group" && verb === "create") {
    if (args.length !== 1 || args[0] === "")
      throw new UsageError("give the group's name (quote it if it has spaces)");
    if (values.owner === undefined) throw new UsageError("--owner ID is required");
    const owner = userIds([values.owner], "group create")[0] as string;
    const members = userIds(
      (values.members ?? "")
        .split(",")
        .map((m) => m.trim())
        .filter((m) => m !== ""),
      "group create",
    );
    return async (admin, io) => {
      const group = await createGroup(admin, {
        name: args[0] as string,
        ownerId: owner,
        memberIds: members,
        ...(values.id === undefined ? {} : { groupId: values.id }),
      });
      io.out(`group ${group.groupId}\n`);
      let failed = 0;
      for (const m of group.members) {
        if (m.result === 1) failed++;
        io.out(
          `  ${m.memberId}: ${["added", "failed", "already a member"][m.result] ?? m.result}${m.message && m.result === 1 ? ` (${m.message})` : ""}\n`,
        );
      }
      return failed > 0 ? 1 : 0;
    };
  }
  throw new UsageError(`unknown command "${command} ${verb ?? ""}"`);
}
