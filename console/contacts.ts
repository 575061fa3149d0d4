import { PresenceApi, PresenceStatus } from "../sdk/index.js";
import { p2pKey } from "./chat-store.js";
import type { Chat } from "./context.js";
import { byId, fill, h } from "./dom.js";
import { USER_ID } from "./session.js";

interface Friendship {
  toId?: string;
  status?: number | string;
  black?: number | string;
  remark?: string;
}

interface FriendRequest {
  id?: number | string;
  fromId?: string;
  toId?: string;
  addWording?: string;
  approveStatus?: number | string;
}

/** Enums in proto-JSON: a number or the value's name; `names` lists the names by number. */
function enumValue(value: unknown, names: string[]): number {
  if (typeof value === "number") return value;
  const i = names.findIndex((n) => String(value ?? "").endsWith(n));
  return Math.max(0, i);
}

let wired = false;

/**
 * Friends' online status (README "Online status"): queried when the list is drawn, then kept by
 * the `presence` events the server pushes to friends (4004); each event names one device, so the
 * user's status is asked again rather than guessed from it.
 */
const online = new Map<string, boolean>();
/** How often the shown friends' status is asked again while the Contacts view is open. */
const PRESENCE_POLL_MS = 5_000;
let friendIds: string[] = [];

function presenceBadge(userId: string): HTMLElement {
  const known = online.get(userId);
  const text = known === undefined ? "" : known ? "online" : "offline";
  return h(
    "span",
    { class: "presence", "data-presence": text || undefined, "aria-label": text || undefined },
    text,
  );
}

function redrawBadge(userId: string): void {
  const row = document.querySelector(`[data-friend="${CSS.escape(userId)}"] .presence`);
  row?.replaceWith(presenceBadge(userId));
}

async function refreshPresence(chat: Chat, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  try {
    const users = await new PresenceApi(chat.api).query(userIds.slice(0, 100));
    for (const u of users) {
      online.set(u.userId, u.status === PresenceStatus.ONLINE);
      redrawBadge(u.userId);
    }
  } catch {
    // Online status is a nicety: a server without it (or a failed call) leaves the badges empty.
  }
}

/** The Contacts view: friends, friend requests (accept, reject), the blacklist. */
export async function showContacts(chat: Chat): Promise<void> {
  const say = (text: string) => fill(byId("contacts-status"), text);
  /** Runs a change and says how it went (the call may answer its own text). */
  const run = async (what: string, call: () => Promise<unknown>) => {
    try {
      const text = await call();
      say(typeof text === "string" ? text : `${what}: done`);
    } catch (e) {
      say(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await showContacts(chat);
  };
  if (!wired) {
    wired = true;
    chat.client.on("presence", (event) => {
      if (event.command === 4004) void refreshPresence(chat, [event.data.userId]);
    });
    // Also asked again now and then: a push missed while the page was busy or offline is not
    // waited for (the server keeps no per-watcher backlog of status changes).
    setInterval(() => {
      if (!byId("view-contacts").hidden) void refreshPresence(chat, friendIds);
    }, PRESENCE_POLL_MS);
    byId<HTMLFormElement>("add-friend-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const toId = byId<HTMLInputElement>("add-friend").value.trim();
      if (!USER_ID.test(toId)) return say("A user id is 1 to 50 letters, digits or _ . @ -");
      void run(`add ${toId}`, async () => {
        const res = await chat.api.call<{ requestSent?: boolean }>("FriendshipService", "AddFriend", {
          fromId: chat.me,
          toItem: { toId, addSource: "console" },
        });
        return res.requestSent === true ? `request sent to ${toId}` : `${toId} is your friend now`;
      });
    });
    byId<HTMLInputElement>("ask-first").addEventListener("change", (event) => {
      const ask = (event.target as HTMLInputElement).checked;
      // friendAllowType: 1 friends at once, 2 a request the user accepts or rejects.
      void run(ask ? "ask before adding" : "add at once", () =>
        chat.api.call("UserService", "ModifyUserInfo", { userId: chat.me, friendAllowType: ask ? 2 : 1 }),
      );
    });
    byId<HTMLFormElement>("black-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const toId = byId<HTMLInputElement>("black-user").value.trim();
      if (!USER_ID.test(toId)) return say("A user id is 1 to 50 letters, digits or _ . @ -");
      void run(`block ${toId}`, () =>
        chat.api.call("FriendshipService", "AddBlack", { fromId: chat.me, toId }),
      );
    });
  }

  let friendships: Friendship[] = [];
  let requests: FriendRequest[] = [];
  let allow: unknown;
  try {
    [friendships, requests, allow] = await Promise.all([
      chat.api
        .call<{ friendships?: Friendship[] }>("FriendshipService", "GetAllFriendships", { fromId: chat.me })
        .then((r) => r.friendships ?? []),
      chat.api
        .call<{ friendRequests?: FriendRequest[] }>("FriendRequestService", "GetFriendRequests", {
          fromId: chat.me,
          limit: 50,
        })
        .then((r) => r.friendRequests ?? []),
      chat.api
        .call<{ userDataItem?: Array<{ friendAllowType?: unknown }> }>("UserService", "GetUserInfo", {
          userIds: [chat.me],
        })
        .then((r) => r.userDataItem?.[0]?.friendAllowType),
    ]);
  } catch (e) {
    say(`contacts: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  // Enabled once the user's setting is known, so a click is never undone by the first load.
  const askFirst = byId<HTMLInputElement>("ask-first");
  askFirst.checked = enumValue(allow, ["UNSPECIFIED", "NOT_NEED", "NEED"]) === 2;
  askFirst.disabled = false;
  const status = (f: Friendship) => enumValue(f.status, ["NO_FRIEND", "NORMAL", "DELETE"]);
  const blacked = (f: Friendship) => enumValue(f.black, ["UNSPECIFIED", "NORMAL", "BLACKED"]) === 2;
  fill(
    byId("friends"),
    ...friendships
      .filter((f) => status(f) === 1 && !blacked(f))
      .map((f) =>
        h(
          "li",
          { "data-friend": f.toId },
          h("span", {}, f.toId ?? "", f.remark ? ` (${f.remark})` : ""),
          presenceBadge(f.toId ?? ""),
          h("button", { type: "button", onclick: () => chat.open(p2pKey(f.toId ?? "")) }, "Chat"),
          h(
            "button",
            {
              type: "button",
              onclick: () =>
                void run(`remove ${f.toId}`, () =>
                  chat.api.call("FriendshipService", "DeleteFriend", { fromId: chat.me, toId: f.toId }),
                ),
            },
            "Remove",
          ),
        ),
      ),
  );
  friendIds = friendships.filter((f) => status(f) === 1 && !blacked(f)).map((f) => f.toId ?? "");
  void refreshPresence(chat, friendIds);
  fill(
    byId("blacklist"),
    ...friendships.filter(blacked).map((f) =>
      h(
        "li",
        { "data-blocked": f.toId },
        h("span", {}, f.toId ?? ""),
        h(
          "button",
          {
            type: "button",
            onclick: () =>
              void run(`unblock ${f.toId}`, () =>
                chat.api.call("FriendshipService", "DeleteBlack", { fromId: chat.me, toId: f.toId }),
              ),
          },
          "Unblock",
        ),
      ),
    ),
  );
  const pending = requests.filter(
    (r) => enumValue(r.approveStatus, ["PENDING", "AGREE", "REJECT"]) === 0 && r.toId === chat.me,
  );
  const decide = (r: FriendRequest, status: 1 | 2) =>
    void run(`${status === 1 ? "accept" : "reject"} ${r.fromId}`, () =>
      chat.api.call("FriendRequestService", "ApproveFriendRequest", { id: Number(r.id), status }),
    );
  fill(
    byId("friend-requests"),
    ...(pending.length === 0
      ? [h("li", {}, h("span", {}, "No pending requests"))]
      : pending.map((r) =>
          h(
            "li",
            { "data-request-from": r.fromId },
            h("span", {}, `${r.fromId}${r.addWording ? `: ${r.addWording}` : ""}`),
            h("button", { type: "button", onclick: () => decide(r, 1) }, "Accept"),
            h("button", { type: "button", onclick: () => decide(r, 2) }, "Reject"),
          ),
        )),
  );
}
