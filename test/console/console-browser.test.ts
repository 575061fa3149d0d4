import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isolatedEnv, type RunningCli, startCli } from "../support/cli.js";

/**
 * The web console in a real browser (issue 17): Debian's Chromium driven by playwright-core
 * against `whaleshark start` (the gateway serves the page, the demo login and the seeded users
 * alice, bob, carol and the group "whaleshark-demo"). Fails, never skips, when Chromium is
 * missing: CI installs it (scripts/services.sh). Screenshots go to test-results/console/.
 */
const CHROMIUM = process.env.WHALESHARK_CHROMIUM ?? "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOTS = `${ROOT}test-results/console`;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WAIT = 10_000;

let cli: RunningCli | undefined;
let browser: Browser | undefined;
let base: string;
const contexts: BrowserContext[] = [];

/** A port free right now (the server binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Why there is no browser: every scenario fails with it (a missing Chromium is a failure, never a skip). */
const MISSING = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing: apt-get install chromium (scripts/services.sh installs it for npm test)`;

beforeAll(async () => {
  if (MISSING !== undefined) return;
  // The page the server serves is gen/console: bundle it from the sources under test.
  const bundled = spawnSync(process.execPath, ["console/bundle.mjs", "gen/console"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(bundled.status, bundled.stderr).toBe(0);
  mkdirSync(SHOTS, { recursive: true });
  // Fixed ports for the WebSocket side (the page's origin) and the domain (config.json's httpApi).
  const [wsPort, domainPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${wsPort}/`;
  const env = await isolatedEnv({
    WHALESHARK_GATEWAY__WS_PORT: String(wsPort),
    WHALESHARK_DOMAIN__PORT: String(domainPort),
    WHALESHARK_RUNTIME: "tsx",
    // The demo data the scenarios chat in: alice, bob, carol, friends, and the group.
    WHALESHARK_SEED__DEMO: "true",
  });
  const [started, launched] = await Promise.all([
    (async () => {
      cli = startCli(["start"], env);
      await cli.waitForLog((l) => l.msg === "whaleshark started", 60_000);
    })(),
    chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
  ]);
  void started;
  browser = launched;
}, 90_000);

// Each scenario's pages go with it: fewer live connections, no scenario sees another's tabs.
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  cli?.child.kill("SIGTERM");
  await cli?.exited;
}, 30_000);

/** A 4004 push's payload as the page's socket received it. */
interface Presence {
  userId: string;
  status: number;
}
const pushes = new WeakMap<Page, Presence[]>();

/** A fresh browser profile (its own sessionStorage) signed in as `user` through the demo login. */
async function signIn(user: string, context?: BrowserContext): Promise<Page> {
  if (MISSING !== undefined) throw new Error(MISSING);
  let ctx = context;
  if (ctx === undefined) {
    ctx = await (browser as Browser).newContext({ viewport: { width: 1000, height: 700 } });
    contexts.push(ctx);
  }
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The presence pushes the page's socket receives: the server's frame is command, length, body
  // (JSON for a web client).
  const presence: Presence[] = [];
  pushes.set(page, presence);
  page.on("websocket", (ws) => {
    ws.on("framereceived", ({ payload }) => {
      if (typeof payload === "string" || payload.length < 8 || payload.readUInt32BE(0) !== 4004) return;
      presence.push(JSON.parse(payload.subarray(8).toString("utf8")).data as Presence);
    });
  });
  await page.goto(base);
  await page.getByLabel("User id", { exact: true }).fill(user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page
    .locator("#app")
    .waitFor({ state: "visible", timeout: WAIT })
    .catch(async (e: unknown) => {
      const why = await page.locator("#login-error").textContent();
      throw new Error(`${user} not signed in (page says: ${JSON.stringify(why)}; errors ${errors}): ${e}`);
    });
  await expect.poll(() => page.locator("#conn").textContent(), { timeout: WAIT }).toBe("online");
  expect(errors).toEqual([]);
  return page;
}

async function openChat(page: Page, key: string): Promise<void> {
  const button = page.locator(`[data-conversation="${key}"]`);
  // A group is listed once the page has read the user's groups (HTTP API, after sign-in).
  if (key.startsWith("group:")) await button.waitFor({ timeout: WAIT });
  if ((await button.count()) > 0) await button.click();
  else {
    await page.getByLabel("Chat with", { exact: true }).fill(key.replace(/^p2p:/, ""));
    await page.getByRole("button", { name: "Open" }).click();
  }
  await page.locator("#composer").waitFor({ state: "visible" });
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

const message = (page: Page, text: string) => page.locator("#messages li", { hasText: text });
/** A message's state; a failed one with its reason, so a failing test says why. */
const stateOf = async (page: Page, text: string) => {
  const state = await message(page, text).getAttribute("data-state");
  return state === "failed"
    ? `failed: ${await message(page, text).locator(".state").getAttribute("title")}`
    : state;
};
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

describe("the web console in Chromium against whaleshark start", () => {
  it("two users chat P2P: sending → sent → delivered → read, emoji and CJK intact, then a recall goes on both sides", async () => {
    const alice = await signIn("alice");
    const bob = await signIn("bob");
    const text = "Hello bob 👋🐋 你好，世界！こんにちは 🇯🇵";
    await openChat(alice, "p2p:bob");
    await send(alice, text);
    // bob is online but has not opened the chat: his device's receive-ACK makes it "delivered".
    await expect.poll(() => stateOf(alice, text), { timeout: WAIT }).toBe("delivered");
    await expect
      .poll(() => bob.locator('[data-conversation="p2p:alice"] .badge').textContent(), { timeout: WAIT })
      .toBe("1");
    await shot(bob, "p2p-unread");
    await openChat(bob, "p2p:alice");
    await expect(message(bob, text).locator(".body").textContent()).resolves.toBe(text);
    // Opening the chat marks it read: alice gets the read receipt.
    await expect.poll(() => stateOf(alice, text), { timeout: WAIT }).toBe("read");
    await send(bob, "Got it ✅ 收到");
    await expect.poll(() => message(alice, "Got it ✅ 收到").count(), { timeout: WAIT }).toBe(1);
    await shot(alice, "p2p-read");

    await message(alice, text).getByRole("button", { name: "Recall this message" }).click();
    await expect
      .poll(() => message(alice, "recalled").getAttribute("data-recalled"), { timeout: WAIT })
      .toBe("true");
    await expect.poll(() => bob.locator("#messages li[data-recalled]").count(), { timeout: WAIT }).toBe(1);
    await expect(bob.locator("#messages").textContent()).resolves.not.toContain("👋");
    await shot(bob, "p2p-recalled");

    // Online status: alice's contacts show her friend bob online, and offline once his page is
    // gone (the server's 4004 push to friends after its coalescing window, or the view's own
    // periodic query, console/contacts.ts).
    await alice.getByRole("tab", { name: "Contacts" }).click();
    const bobStatus = alice.locator('[data-friend="bob"] .presence');
    await expect.poll(() => bobStatus.textContent(), { timeout: WAIT }).toBe("online");
    // The server tells alice's page (4004, status 1) once its coalescing window has passed; a
    // device that leaves before that is never announced, nor its leaving (presence.coalesceMs).
    const told = (status: number) =>
      pushes.get(alice)?.some((p) => p.userId === "bob" && p.status === status);
    await expect.poll(() => told(1), { timeout: WAIT }).toBe(true);
    await bob.close();
    // Then bob's leaving (4004, status 2 = offline), and the badge follows.
    await expect.poll(() => told(2), { timeout: WAIT }).toBe(true);
    await expect.poll(() => bobStatus.textContent(), { timeout: 2 * WAIT }).toBe("offline");
  }, 60_000);

  it("a group of three chats; a second tab of alice sees what the first sends", async () => {
    const alice = await signIn("alice");
    const bob = await signIn("bob");
    const carol = await signIn("carol");
    for (const page of [alice, bob, carol]) await openChat(page, "group:whaleshark-demo");
    await send(alice, "Group hello 🎉 大家好");
    for (const page of [bob, carol]) {
      await expect.poll(() => message(page, "Group hello 🎉 大家好").count(), { timeout: WAIT }).toBe(1);
    }
    await send(carol, "carol here 🌊");
    await expect.poll(() => message(alice, "carol here 🌊").count(), { timeout: WAIT }).toBe(1);
    await expect(message(alice, "carol here 🌊").locator(".from").textContent()).resolves.toBe("carol");
    await expect.poll(() => stateOf(carol, "carol here 🌊"), { timeout: WAIT }).not.toBe("sending");
    await shot(alice, "group");

    // Another tab of alice (same profile, its own device id) sees the group's history, and then
    // what the first tab sends, as her own.
    const second = await signIn("alice", alice.context());
    await openChat(second, "group:whaleshark-demo");
    await expect.poll(() => message(second, "carol here 🌊").count(), { timeout: WAIT }).toBe(1);
    await send(alice, "from tab one ✉️");
    await expect
      .poll(() => message(second, "from tab one ✉️").getAttribute("class"), { timeout: WAIT })
      .toBe("own");
    await shot(second, "second-tab");
  }, 40_000);

  it("a page that reloads comes back signed in with its history and the server's unread counts", async () => {
    const carol = await signIn("carol");
    const bob = await signIn("bob");
    await openChat(bob, "p2p:carol");
    for (const t of ["one 1️⃣", "two 2️⃣", "三 3️⃣"]) await send(bob, t);
    await expect.poll(() => stateOf(bob, "三 3️⃣"), { timeout: WAIT }).toMatch(/delivered|read/);
    await carol.reload();
    await carol.locator("#app").waitFor({ state: "visible", timeout: WAIT });
    await expect
      .poll(() => carol.locator('[data-conversation="p2p:bob"] .badge').textContent(), { timeout: WAIT })
      .toBe("3");
    await shot(carol, "reload-unread");
    await openChat(carol, "p2p:bob");
    await expect
      .poll(() => carol.locator("#messages li").allTextContents(), { timeout: WAIT })
      .toEqual([
        expect.stringContaining("one 1️⃣"),
        expect.stringContaining("two 2️⃣"),
        expect.stringContaining("三 3️⃣"),
      ]);
    await expect.poll(() => stateOf(bob, "三 3️⃣"), { timeout: WAIT }).toBe("read");
    // Read on the server: the count is gone after another reload too.
    await carol.reload();
    await carol.locator('[data-conversation="p2p:bob"]').waitFor({ timeout: WAIT });
    await expect
      .poll(() => carol.locator('[data-conversation="p2p:bob"] .badge').textContent(), { timeout: WAIT })
      .toBe("");
    await carol.setViewportSize({ width: 390, height: 844 });
    await shot(carol, "phone-width");
  }, 40_000);

  it("contacts (a friend request accepted, a block), groups (members, roles, a join request) and the ops view", async () => {
    const erin = await signIn("erin");
    await erin.getByRole("tab", { name: "Contacts" }).click();
    await erin.getByLabel("Ask me before someone adds me as a friend").check();
    await expect
      .poll(() => erin.locator("#contacts-status").textContent(), { timeout: WAIT })
      .toContain("done");
    const dave = await signIn("dave");
    await dave.getByRole("tab", { name: "Contacts" }).click();
    await dave.getByLabel("Add friend").fill("erin");
    await dave.getByRole("button", { name: "Add", exact: true }).click();
    await expect
      .poll(() => dave.locator("#contacts-status").textContent(), { timeout: WAIT })
      .toContain("request sent");
    // erin's view follows the friend-request push; accepting makes them friends on both sides.
    const request = erin.locator('[data-request-from="dave"]');
    await request.waitFor({ timeout: WAIT });
    await shot(erin, "friend-request");
    await request.getByRole("button", { name: "Accept" }).click();
    await erin.locator('[data-friend="dave"]').waitFor({ timeout: WAIT });
    await dave.getByRole("tab", { name: "Groups" }).click();
    await dave.getByRole("tab", { name: "Contacts" }).click();
    await dave.locator('[data-friend="erin"]').waitFor({ timeout: WAIT });
    await dave.getByLabel("Block user").fill("erin");
    await dave.getByRole("button", { name: "Block", exact: true }).click();
    await dave.locator('[data-blocked="erin"]').waitFor({ timeout: WAIT });

    // erin creates a group that needs approval with dave in it, makes him a manager; frank asks to join.
    await erin.getByRole("tab", { name: "Groups" }).click();
    await erin.getByLabel("Name", { exact: true }).fill("Sharks 🦈");
    await erin.getByLabel("Members (comma separated user ids)").fill("dave");
    await erin.getByRole("button", { name: "Create" }).click();
    const group = erin.locator("#groups li", { hasText: "Sharks 🦈" });
    await group.waitFor({ timeout: WAIT });
    const groupId = (await group.getAttribute("data-group")) as string;
    await group.getByRole("button", { name: "Members" }).click();
    await erin.locator('[data-member="dave"]').getByRole("button", { name: "Make manager" }).click();
    await expect
      .poll(() => erin.locator('[data-member="dave"]').textContent(), { timeout: WAIT })
      .toContain("manager");
    const frank = await signIn("frank");
    await frank.getByRole("tab", { name: "Groups" }).click();
    await frank.getByLabel("Join group").fill(groupId);
    await frank.getByRole("button", { name: "Ask to join" }).click();
    await expect
      .poll(() => frank.locator("#groups-status").textContent(), { timeout: WAIT })
      .toContain("request sent");
    await group.getByRole("button", { name: "Members" }).click();
    await erin.locator('[data-join-request="frank"]').getByRole("button", { name: "Approve" }).click();
    await erin.locator('[data-member="frank"]').waitFor({ timeout: WAIT });
    await erin.locator('[data-member="frank"]').getByRole("button", { name: /^Mute/ }).click();
    await expect
      .poll(() => erin.locator('[data-member="frank"]').textContent(), { timeout: WAIT })
      .toContain("muted until");
    const until = Number(await erin.locator('[data-member="frank"]').getAttribute("data-muted-until"));
    expect(until - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(until - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    await shot(erin, "group-members");

    await erin.getByRole("tab", { name: "Ops" }).click();
    await expect
      .poll(async () => Number(await erin.locator('[data-ops="connections"]').textContent()), {
        timeout: WAIT,
      })
      .toBeGreaterThanOrEqual(3);
    await shot(erin, "ops");
  }, 40_000);

  it("going offline and back shows what was missed (the SDK's catch-up)", async () => {
    const carol = await signIn("carol");
    const bob = await signIn("bob");
    await carol.getByRole("button", { name: "Go offline" }).click();
    await expect.poll(() => carol.locator("#conn").textContent(), { timeout: WAIT }).toBe("closed");
    await openChat(bob, "p2p:carol");
    await send(bob, "while you were away 🌙 你不在的时候");
    // Nobody of carol's is online: the message is stored (ACKed), not delivered.
    await expect.poll(() => stateOf(bob, "while you were away 🌙"), { timeout: WAIT }).toBe("sent");
    await carol.getByRole("button", { name: "Come back online" }).click();
    await expect.poll(() => carol.locator("#conn").textContent(), { timeout: WAIT }).toBe("online");
    await openChat(carol, "p2p:bob");
    await expect
      .poll(() => message(carol, "while you were away 🌙").locator(".body").textContent(), { timeout: WAIT })
      .toBe("while you were away 🌙 你不在的时候");
    await expect.poll(() => stateOf(bob, "while you were away 🌙"), { timeout: WAIT }).toBe("read");
    await shot(carol, "offline-catch-up");
  }, 30_000);
});
