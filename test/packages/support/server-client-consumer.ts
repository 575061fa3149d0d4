/**
 * What an app server using the packed @whaleshark/server-client writes, as files the package test
 * puts into its empty consumer project. Plain JavaScript in a string on purpose: it runs against
 * the installed package, never against the repository's sources.
 */

/** An app server's set-up and sends, printed as one JSON line. */
export const APP_SERVER_SCRIPT = `
import {
  AppClient,
  AppClientOptionError,
  ensureUsers,
  isUnreachable,
  makeFriends,
} from "@whaleshark/server-client";

const cfg = JSON.parse(process.env.APP_CONFIG);
const as = (userId) =>
  new AppClient({ target: cfg.domain, appId: cfg.appId, identity: { userId, privateKey: cfg.key } });
const admin = as(cfg.adminId);
const first = await ensureUsers(admin, [{ userId: "pc-alice" }, { userId: "pc-bob" }]);
const again = await ensureUsers(admin, [{ userId: "pc-alice" }]);
const links = await makeFriends(admin, "pc-alice", "pc-bob");
const send = { messageId: "pc-1", fromId: "pc-alice", toId: "pc-bob", messageBody: "from the app server" };
const sent = await admin.messages.sendMessage(send);
const resent = await admin.messages.sendMessage(send);

const bob = as("pc-bob");
const info = await bob.users.getUserInfo({ userIds: ["pc-alice"] });
// A plain user is not an app admin: DeleteUsers is refused with the server's code.
const refused = await bob.users.deleteUsers({ userIds: ["pc-alice"] }).then(
  () => "accepted",
  (e) => ({ grpc: e.code, whaleshark: String(e.metadata.get("whaleshark-code")[0]) }),
);
let badOption;
try {
  new AppClient({ target: cfg.domain, appId: 0, identity: { userId: "x", privateKey: cfg.key } });
} catch (e) {
  badOption = e instanceof AppClientOptionError ? e.option : String(e);
}
const down = new AppClient({
  target: "127.0.0.1:1",
  appId: cfg.appId,
  identity: { userId: cfg.adminId, privateKey: cfg.key },
  timeoutMs: 3000,
});
const unreachable = await down.users.getUserInfo({}).then(() => "answered", isUnreachable);
for (const c of [admin, bob, down]) c.close();
console.log(JSON.stringify({
  created: first.created.sort(),
  existing: again.existing,
  friends: links.map((l) => l.made),
  sent: sent.messageSequence > 0 && sent.messageKey > 0,
  deduped: resent.messageKey === sent.messageKey,
  info: info.userDataItem.map((u) => u.userId),
  refused,
  badOption,
  unreachable,
}));
`;

/** A TypeScript app server: the package's types must be real (@ts-expect-error lines must fail). */
export const TYPED_APP_SERVER = `
import { AppClient, type RetryPolicy, importUsers } from "@whaleshark/server-client";

const client = new AppClient({
  target: "zk:///whaleshark.domain",
  appId: 10001,
  identity: { userId: "admin", privateKey: "key" },
  retry: { attempts: 5 } satisfies Partial<RetryPolicy>,
});
export async function run(): Promise<number> {
  await importUsers(client, ["a", "b"], { parallel: 2 });
  const res = await client.messages.sendMessage({ messageId: "m1", fromId: "a", toId: "b", messageBody: "hi" });
  return res.messageSequence;
}
// @ts-expect-error messageSequence is a number
export const wrong: string = (await client.messages.sendMessage({})).messageSequence;
// @ts-expect-error no such service
void client.nothing;
// @ts-expect-error userIds is a list of strings
void client.users.getUserInfo({ userIds: [1] });
`;
