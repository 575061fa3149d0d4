/**
 * The WhaleShark web console: a chat client built only on public surfaces, the SDK over WebSocket
 * (its browser build, ./sdk.js in the bundle) and the HTTP API. Plain DOM; see console/README
 * section in the project README.
 */
import {
  type ChatMessage,
  ClientError,
  ConversationList,
  HttpApi,
  type Receipt,
  WhaleSharkClient,
  wsTransport,
} from "../sdk/index.js";
import { type ChatItem, ChatStore, type ConversationKey, groupKey, p2pKey, parseKey } from "./chat-store.js";
import { showContacts } from "./contacts.js";
import type { Chat } from "./context.js";
import { byId, fill, h, reconcile } from "./dom.js";
import { showGroups } from "./groups-view.js";
import { pollOps } from "./ops.js";
import {
  type ConsoleConfig,
  demoLogin,
  loadConfig,
  type SignIn,
  savedSignIn,
  saveSignIn,
  tabImei,
  USER_ID,
} from "./session.js";

/** Messages shown per conversation at first; "Show earlier" pages back by as many. */
const PAGE = 30;

async function start(): Promise<void> {
  const config = await loadConfig();
  const params = new URLSearchParams(location.search);
  if (config.demoLogin) {
    byId("demo-banner").hidden = false;
    byId("sign-row").hidden = true;
    fill(byId("demo-users"), ...config.demoUsers.map((u) => h("option", { value: u })));
  }
  const form = byId<HTMLFormElement>("login-form");
  const signField = byId<HTMLInputElement>("login-sign");
  const userField = byId<HTMLInputElement>("login-user");
  userField.value = params.get("userId") ?? "";
  signField.value = params.get("userSign") ?? "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void signIn(config, userField.value.trim(), signField.value.trim());
  });
  byId<HTMLButtonElement>("login-submit").disabled = false;
  const saved = savedSignIn();
  if (saved !== undefined && saved.appId === config.appId) {
    void enter(config, saved);
  } else if (!config.demoLogin && userField.value !== "" && signField.value !== "") {
    void signIn(config, userField.value, signField.value);
  } else {
    userField.focus();
  }
}

async function signIn(config: ConsoleConfig, userId: string, userSign: string): Promise<void> {
  const error = byId("login-error");
  error.textContent = "";
  if (!USER_ID.test(userId)) {
    error.textContent = "A user id is 1 to 50 letters, digits or _ . @ -";
    return;
  }
  try {
    const s = config.demoLogin ? await demoLogin(userId) : { appId: config.appId, userId, userSign };
    if (s.userSign === "") throw new Error("a userSign is needed: ask your app server for one");
    await enter(config, s);
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
  }
}

async function enter(config: ConsoleConfig, s: SignIn): Promise<void> {
  const conn = byId("conn");
  const client = new WhaleSharkClient({
    transport: wsTransport({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${config.wsPath}`,
    }),
    appId: s.appId,
    userId: s.userId,
    clientType: 1, // WEB: never kicked by the user's phones under the default login mode
    imei: tabImei(),
    userSign: s.userSign,
  });
  client.on("state", (state) => {
    conn.textContent = state;
    conn.dataset.state = state;
  });
  try {
    await client.connect();
  } catch (e) {
    saveSignIn(undefined);
    const why = e instanceof ClientError && e.code !== undefined ? `${e.code} ${e.serverMessage}` : String(e);
    byId("login-error").textContent = `Sign-in refused: ${why}`;
    return;
  }
  saveSignIn(s);
  byId("login").hidden = true;
  byId("app").hidden = false;
  fill(byId("whoami"), s.userId);
  const api = new HttpApi({
    baseUrl: config.httpApi === "" ? `${location.protocol}//${location.hostname}:18000` : config.httpApi,
    appId: s.appId,
    userId: s.userId,
    userSign: s.userSign,
  });
  runChat(client, api, s.userId);
  if (config.httpApi === "") {
    // Distributed without gateway.consoleHttpApi: the page guesses the default port, and says so.
    fill(
      byId("app-status"),
      "No HTTP API address configured (gateway.consoleHttpApi): trying port 18000 of this host.",
    );
  }
  byId("open-peer").focus();
}

function runChat(client: WhaleSharkClient, api: HttpApi, me: string): void {
  const store = new ChatStore(me);
  const list = new ConversationList(api);
  const shown = new Map<ConversationKey, number>();
  const markedRead = new Map<ConversationKey, number>();
  let current: ConversationKey | undefined;

  const chat: Chat = {
    me,
    client,
    api,
    open,
    groupNames: new Map(),
    refreshConversations: () => scheduleSync(),
  };

  // ---- conversation list: the server's rows (unread counts) and what arrived here ----
  let syncTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleSync(): void {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(() => {
      list.sync().then(renderConversations, (e: unknown) => status(`conversations: ${String(e)}`));
    }, 250);
  }

  function renderConversations(): void {
    const keys = new Set<ConversationKey>();
    for (const c of list.list()) keys.add(c.conversationType === 0 ? p2pKey(c.toId) : groupKey(c.toId));
    for (const k of store.conversations()) keys.add(k);
    for (const g of chat.groupNames.keys()) keys.add(groupKey(g));
    const rows = [...keys].map((key) => {
      const { type, toId } = parseKey(key);
      const entry = list.get(type, toId);
      const last = store.last(key);
      return { key, toId, type, entry, last, order: last?.messageTime ?? 0 };
    });
    rows.sort((a, b) => b.order - a.order || (b.entry?.sequence ?? 0) - (a.entry?.sequence ?? 0));
    let total = 0;
    const items = rows.map(({ key, toId, type, entry, last }) => {
      const unread = key === current ? 0 : (entry?.unreadCount ?? 0);
      total += unread;
      const name = type === 1 ? `# ${chat.groupNames.get(toId) ?? toId}` : toId;
      return h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            "data-conversation": key,
            "aria-current": key === current ? "true" : undefined,
            onclick: () => open(key),
          },
          h("span", { class: "name" }, name),
          h("span", { class: "badge", "data-unread": unread }, unread > 0 ? unread : ""),
          unread > 0 ? h("span", { class: "visually-hidden" }, " unread") : null,
          h(
            "span",
            { class: "last" },
            last === undefined
              ? ""
              : last.recalled
                ? "(recalled)"
                : `${last.own ? "me" : last.fromId}: ${last.body}`,
          ),
        ),
      );
    });
    fill(byId("conversations"), ...items);
    fill(byId("unread-total"), total > 0 ? total : "");
  }

  // ---- the open conversation ----
  function open(key: ConversationKey): void {
    current = key;
    shown.set(key, shown.get(key) ?? PAGE);
    selectTab("chats");
    const { type, toId } = parseKey(key);
    fill(byId("chat-title"), type === 0 ? `Chat with ${toId}` : `Group ${chat.groupNames.get(toId) ?? toId}`);
    byId("composer").hidden = false;
    renderMessages();
    markRead(key);
    renderConversations();
    byId<HTMLTextAreaElement>("composer-text").focus();
  }

  function markRead(key: ConversationKey): void {
    if (document.visibilityState === "hidden") return;
    const last = store.lastIncomingSequence(key);
    if (last === undefined || (markedRead.get(key) ?? 0) >= last.sequence) return;
    const { type, toId } = parseKey(key);
    const sent =
      type === 0
        ? client.markRead({ toId, messageSequence: last.sequence })
        : client.markGroupRead({ groupId: toId, messageSequence: last.sequence, toId: last.fromId });
    if (sent) {
      markedRead.set(key, last.sequence);
      scheduleSync();
    }
  }

  function renderMessages(): void {
    if (current === undefined) return;
    const all = store.list(current);
    const limit = shown.get(current) ?? PAGE;
    const from = Math.max(0, all.length - limit);
    const earlier = byId("earlier");
    earlier.hidden = from === 0;
    const box = byId("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    reconcile(
      box,
      all.slice(from).map((m) => messageRow(m)),
    );
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function messageRow(m: ChatItem): HTMLElement {
    const key = current as ConversationKey;
    const { type } = parseKey(key);
    const canRecall = m.own && !m.recalled && m.messageKey > 0;
    return h(
      "li",
      {
        class: `${m.own ? "own" : ""}${m.recalled ? " recalled" : ""}`,
        "data-key": m.messageId,
        "data-message-id": m.messageId,
        "data-state": m.state,
        "data-recalled": m.recalled ? "true" : undefined,
      },
      type === 1 && !m.own ? h("span", { class: "from" }, m.fromId) : null,
      h("span", { class: "body" }, m.recalled ? "This message was recalled" : m.body),
      h(
        "span",
        { class: "meta" },
        h(
          "time",
          { datetime: new Date(m.messageTime).toISOString() },
          new Date(m.messageTime).toLocaleTimeString(),
        ),
        m.own ? h("span", { class: "state", title: m.error ?? "" }, m.state) : null,
        canRecall
          ? h(
              "button",
              {
                type: "button",
                class: "recall",
                "aria-label": "Recall this message",
                onclick: () => recall(key, m),
              },
              "Recall",
            )
          : null,
      ),
    );
  }

  function recall(key: ConversationKey, m: ChatItem): void {
    const { type, toId } = parseKey(key);
    client
      .recall({
        conversationType: type,
        toId,
        messageKey: m.messageKey,
        messageSequence: m.messageSequence,
        messageTime: m.messageTime,
      })
      .then(
        () => {
          store.recalled(m.messageKey);
          refresh(key);
        },
        (e: unknown) => status(`recall refused: ${e instanceof Error ? e.message : String(e)}`),
      );
  }

  function refresh(key: ConversationKey): void {
    if (key === current) renderMessages();
    renderConversations();
  }

  function status(text: string): void {
    fill(byId("app-status"), text);
  }

  // ---- sending ----
  byId<HTMLFormElement>("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = byId<HTMLTextAreaElement>("composer-text");
    const body = field.value;
    if (current === undefined || body.trim() === "") return;
    field.value = "";
    send(current, body);
  });
  byId("composer-text").addEventListener("keydown", (event) => {
    const e = event as KeyboardEvent;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      byId<HTMLFormElement>("composer").requestSubmit();
    }
  });
  byId("earlier").addEventListener("click", () => {
    if (current === undefined) return;
    shown.set(current, (shown.get(current) ?? PAGE) + PAGE);
    renderMessages();
  });
  byId<HTMLFormElement>("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const peer = byId<HTMLInputElement>("open-peer").value.trim();
    if (USER_ID.test(peer) && peer !== me) open(p2pKey(peer));
  });

  function send(key: ConversationKey, body: string): void {
    const { type, toId } = parseKey(key);
    const messageId = crypto.randomUUID();
    store.sending(key, messageId, body, Date.now());
    refresh(key);
    const sent =
      type === 0
        ? client.sendP2P({ toId, messageBody: body, messageId })
        : client.sendGroup({ groupId: toId, messageBody: body, messageId });
    sent.then(
      (ack) => {
        store.acked(messageId, ack.data?.messageKey ?? 0, ack.data?.messageSequence ?? 0);
        refresh(key);
        scheduleSync();
      },
      (e: unknown) => {
        store.failed(messageId, e instanceof Error ? e.message : String(e));
        refresh(key);
      },
    );
  }

  // ---- what the server pushes ----
  client.on("message", (m: ChatMessage) => {
    const msg = m.message;
    const key =
      m.kind === "p2p"
        ? p2pKey(msg.fromId === me ? m.message.toId : msg.fromId)
        : groupKey(m.message.groupId);
    store.received(key, {
      messageId: msg.messageId,
      messageKey: msg.messageKey,
      messageSequence: msg.messageSequence,
      messageTime: msg.messageTime,
      fromId: msg.fromId,
      body: msg.messageBody,
      recalled: m.recalled,
    });
    if (key === current) markRead(key);
    refresh(key);
    scheduleSync();
  });
  client.on("receipt", (r: Receipt) => {
    if (r.command === 1107) {
      // serverSend: the receiver is offline and the server answered for it; the message is stored
      // and waits for their next login, it has not reached a device yet: it stays "sent".
      if (r.data.serverSend) return;
      const item = store.delivered(r.data.messageKey);
      if (item !== undefined && current !== undefined) renderMessages();
      return;
    }
    const d = r.data;
    if (r.command === 1054) store.readUpTo(p2pKey(d.fromId), d.messageSequence);
    if (r.command === 2054) store.readUpTo(groupKey(d.groupId), d.messageSequence);
    // 1053 / 2053: this user read on another device, the unread counts moved.
    if (current !== undefined) renderMessages();
    scheduleSync();
  });
  client.on("recall", (n) => {
    const item = store.recalled(n.messageKey);
    if (item !== undefined) {
      if (current !== undefined) renderMessages();
      renderConversations();
    }
    scheduleSync();
  });
  client.on("synced", () => scheduleSync());
  client.on("notification", ({ command }) => {
    // Friendship (3000s) and group (2000s) events: refresh what is on screen.
    if (command >= 3000 && command < 4000 && !byId("view-contacts").hidden) void showContacts(chat);
    if (command >= 2000 && command < 3000) {
      void showGroups(chat, { quiet: byId("view-groups").hidden }).then(renderConversations);
    }
  });
  client.on("kicked", () => {
    saveSignIn(undefined);
    status("signed in elsewhere");
  });
  document.addEventListener("visibilitychange", () => {
    if (current !== undefined) markRead(current);
  });

  // ---- going offline and back: the SDK catches up with what was missed (sdk/README "Catching up") ----
  const toggle = byId<HTMLButtonElement>("offline-toggle");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    if (client.state === "closed") {
      toggle.disabled = true;
      client
        .connect()
        .then(
          () => fill(toggle, "Go offline"),
          (e: unknown) => status(`could not come back: ${e instanceof Error ? e.message : String(e)}`),
        )
        .finally(() => {
          toggle.disabled = false;
        });
    } else {
      client.close();
      fill(toggle, "Come back online");
    }
  });

  // ---- tabs ----
  let stopOps: (() => void) | undefined;
  function selectTab(name: "chats" | "contacts" | "groups" | "ops"): void {
    for (const t of ["chats", "contacts", "groups", "ops"] as const) {
      byId(`tab-${t}`).setAttribute("aria-selected", String(t === name));
      byId(`view-${t}`).hidden = t !== name;
    }
    stopOps?.();
    stopOps = undefined;
    if (name === "ops") stopOps = pollOps(byId("ops"));
    if (name === "contacts") void showContacts(chat);
    if (name === "groups") void showGroups(chat);
  }
  for (const t of ["chats", "contacts", "groups", "ops"] as const) {
    byId(`tab-${t}`).addEventListener("click", () => selectTab(t));
  }

  // Group names for the conversation list; the Groups view fills the map the same way.
  void showGroups(chat, { quiet: true }).then(renderConversations);
  scheduleSync();
  renderConversations();
}

void start().catch((e: unknown) => {
  byId("login-error").textContent =
    `The console could not start: ${e instanceof Error ? e.message : String(e)}`;
});
