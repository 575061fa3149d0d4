/**
 * What an application using the packed @whaleshark/sdk writes, as files the package test puts into
 * its empty consumer project: a Node program, a TypeScript program for tsc, and a browser page.
 * Plain JavaScript in strings on purpose: they run against the installed package, never against
 * the repository's sources.
 */

/** Shared by the Node program and the page: log two users in, chat both ways, log out. */
const CHAT_FUNCTION = `
async function until(check, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 25));
  }
}
/** Messages of this run (the marker) that the client got from someone else. */
function inbox(client, marker) {
  const got = [];
  client.on("message", (m) => {
    const body = String(m.message.messageBody);
    if (!m.fromSelf && body.startsWith(marker)) got.push(body);
  });
  return got;
}
`;

/** Node: alice on raw TCP with protobuf bodies, bob on the global WebSocket with JSON bodies. */
export const NODE_CHAT_SCRIPT = `
import { MessageEncoding, WhaleSharkClient, wsTransport } from "@whaleshark/sdk";
import { tcpTransport } from "@whaleshark/sdk/transport/tcp";
${CHAT_FUNCTION}
const cfg = JSON.parse(process.env.CHAT_CONFIG);
const common = { appId: cfg.appId, clientType: 1, reconnect: false };
const alice = new WhaleSharkClient({
  ...common,
  transport: tcpTransport(cfg.tcp),
  userId: "alice",
  imei: "package-test-tcp",
  userSign: cfg.alice,
  encoding: MessageEncoding.PROTOBUF,
});
const bob = new WhaleSharkClient({
  ...common,
  transport: wsTransport({ url: cfg.wsUrl }),
  userId: "bob",
  imei: "package-test-ws",
  userSign: async () => cfg.bob,
});
const aliceGot = inbox(alice, cfg.marker);
const bobGot = inbox(bob, cfg.marker);
const aliceLogin = await alice.connect();
const bobLogin = await bob.connect();
const ack = await alice.sendP2P({ toId: "bob", messageBody: cfg.marker + " hello bob over TCP 🐋 你好" });
await until(() => bobGot.length > 0, "bob to receive");
await bob.sendP2P({ toId: "alice", messageBody: cfg.marker + " hi alice over WebSocket ✅" });
await until(() => aliceGot.length > 0, "alice to receive");
await alice.logout();
await bob.logout();
console.log(JSON.stringify({
  aliceLoggedIn: aliceLogin !== undefined,
  bobLoggedIn: bobLogin !== undefined,
  aliceAck: { code: ack.code, hasSequence: (ack.data?.messageSequence ?? 0) > 0 },
  bobReceived: bobGot,
  aliceReceived: aliceGot,
}));
`;

/** The page: loads the browser bundle as a module and offers window.chat(config). */
export const CHAT_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sdk package</title></head>
<body>
<script type="module">
import { WhaleSharkClient, wsTransport } from "./whaleshark-sdk.js";
${CHAT_FUNCTION}
window.chat = async (cfg) => {
  const device = (userId, userSign) =>
    new WhaleSharkClient({
      transport: wsTransport({ url: cfg.wsUrl }),
      appId: cfg.appId,
      userId,
      clientType: 4,
      imei: "package-test-browser-" + userId,
      userSign,
      reconnect: false,
    });
  const carol = device("carol", cfg.carol);
  const bob = device("bob", cfg.bob);
  const carolGot = inbox(carol, cfg.marker);
  const bobGot = inbox(bob, cfg.marker);
  await carol.connect();
  await bob.connect();
  const ack = await carol.sendP2P({ toId: "bob", messageBody: cfg.marker + " from carol's browser 🌊 こんにちは" });
  await until(() => bobGot.length > 0, "bob to receive");
  await bob.sendP2P({ toId: "carol", messageBody: cfg.marker + " bob answers in the browser" });
  await until(() => carolGot.length > 0, "carol to receive");
  await carol.logout();
  await bob.logout();
  return {
    carolAck: { code: ack.code, hasSequence: (ack.data?.messageSequence ?? 0) > 0 },
    bobReceived: bobGot,
    carolReceived: carolGot,
  };
};
window.chatReady = true;
</script>
</body></html>`;

/**
 * A TypeScript program using the package's types. The @ts-expect-error lines must be errors: if
 * the declarations were missing or \`any\`, tsc would report the directives as unused.
 */
export const TYPED_USE = `
import { type ChatMessage, ClientError, MessageEncoding, WhaleSharkClient, wsTransport } from "@whaleshark/sdk";
import { tcpTransport } from "@whaleshark/sdk/transport/tcp";

const client = new WhaleSharkClient({
  transport: tcpTransport({ host: "127.0.0.1", port: 19001 }),
  appId: 10001,
  userId: "alice",
  clientType: 3,
  imei: "typed",
  encoding: MessageEncoding.PROTOBUF,
});
client.on("message", (m: ChatMessage) => {
  const seq: number = m.message.messageSequence;
  void seq;
});
export async function send(): Promise<number | undefined> {
  const ack = await client.sendP2P({ toId: "bob", messageBody: "hi" });
  return ack.data?.messageSequence;
}
export const ws = wsTransport({ url: "ws://127.0.0.1:19002/ws" });
export const isClientError = (e: unknown): boolean => e instanceof ClientError;

// @ts-expect-error toId is a string
void client.sendP2P({ toId: 42, messageBody: "hi" });
// @ts-expect-error imei is required
new WhaleSharkClient({ transport: ws, appId: 1, userId: "u", clientType: 1 });
// @ts-expect-error no such transport option
tcpTransport({ host: "h", port: 1, tls: true });
`;
