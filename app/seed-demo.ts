import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { DEMO_USERS } from "../gateway/console/settings.js";
import { AppClient, createGroup, ensureUsers, makeFriends } from "../lib/app-client/index.js";
import type { Config } from "../lib/config/index.js";
import { errorCodeOf } from "../lib/grpc/errors.js";
import type { InProcessServices } from "../lib/grpc/in-process.js";

/** The demo group (interface: "WhaleShark demo", owner alice, all three members). */
export const DEMO_GROUP = { groupId: "whaleshark-demo", name: "WhaleShark demo", ownerId: "alice" } as const;

/** Written into the data dir once the demo data is in; its presence means "seeded already". */
export const SEED_MARKER = "demo-seeded.json";

/** GROUP_EXIST (40001): the demo group is there already (a seed interrupted after it). */
const GROUP_EXISTS = 40001;

/** What the seeding did, for the banner. */
export type SeedOutcome =
  | { seeded: true; users: string[]; groupId: string }
  | { seeded: false; reason: "off" | "not-embedded" | "already" | "no-admin" };

/** `seed.demo`: unset means on in the embedded profile; the distributed profile never seeds. */
export function seedDemoEnabled(config: Config): boolean {
  return config.profile === "embedded" && (config.seed.demo ?? true);
}

/**
 * Seeds the demo data on the first start of an embedded data dir (`seed.demo`): users alice, bob
 * and carol, friends with each other both ways, and the group "WhaleShark demo" they are all in
 * (owner alice), so a fresh `npm start` has people to chat with. It acts as the demo app's admin
 * through the domain's public services, like an app server would. A marker file in the data dir
 * makes later starts skip it; a start that died half-way seeds again, and what exists already is
 * kept (users and friendships that exist are left alone, the group's fixed id is taken).
 */
export async function seedDemo(
  config: Config,
  deps: { domainTarget: string; inProcess: InProcessServices | undefined },
  logger: Logger,
): Promise<SeedOutcome> {
  if (config.profile !== "embedded") return { seeded: false, reason: "not-embedded" };
  if (!seedDemoEnabled(config)) return { seeded: false, reason: "off" };
  const marker = join(config.dataDir, SEED_MARKER);
  if (existsSync(marker)) return { seeded: false, reason: "already" };
  const appId = config.console.appId;
  const app = config.apps[String(appId)];
  const adminId = app?.adminIds?.[0];
  if (app === undefined || adminId === undefined) {
    logger.warn({ appId }, "demo data not seeded: the console's app has no admin (apps.<appId>.adminIds)");
    return { seeded: false, reason: "no-admin" };
  }
  const admin = new AppClient({
    target: deps.domainTarget,
    appId,
    identity: { userId: adminId, privateKey: app.privateKey },
    ...(deps.inProcess === undefined ? {} : { local: deps.inProcess }),
  });
  try {
    const users = await ensureUsers(admin, DEMO_USERS);
    if (users.refused.length > 0) throw new Error(`demo users refused: ${users.refused.join(", ")}`);
    const ids = DEMO_USERS.map((u) => u.userId);
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) await makeFriends(admin, ids[i] as string, ids[j] as string);
    }
    try {
      await createGroup(admin, { ...DEMO_GROUP, memberIds: ids });
    } catch (err) {
      if (errorCodeOf(err as { metadata?: never }) !== GROUP_EXISTS) throw err;
    }
    writeFileSync(
      marker,
      `${JSON.stringify({ seededAt: new Date().toISOString(), appId, users: ids, groupId: DEMO_GROUP.groupId })}\n`,
    );
    logger.info({ appId, users: ids, groupId: DEMO_GROUP.groupId }, "demo data seeded");
    return { seeded: true, users: ids, groupId: DEMO_GROUP.groupId };
  } finally {
    admin.close();
  }
}
