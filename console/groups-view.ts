import { applyJoinGroup, decideJoinRequest, getJoinRequests } from "../sdk/index.js";
import { groupKey } from "./chat-store.js";
import type { Chat } from "./context.js";
import { byId, fill, h } from "./dom.js";

interface Group {
  groupId?: string;
  groupName?: string;
  ownerId?: string;
  mute?: number | string;
}

interface Member {
  memberId?: string;
  role?: number | string;
  speakDate?: number | string;
}

const ROLE_NAMES = ["ORDINARY", "MANAGER", "OWNER", "LEAVE"];

function roleOf(m: Member): number {
  if (typeof m.role === "number") return m.role;
  const i = ROLE_NAMES.findIndex((n) => String(m.role ?? "ORDINARY").endsWith(n));
  return Math.max(0, i);
}

const MUTE_MINUTES = 10;
let wired = false;

/**
 * The Groups view: the user's groups, creating one, asking to join one, and per group its members
 * with their roles, muting (the whole group or one member) and pending join requests for leaders.
 * With `quiet` it only refreshes the group names the conversation list shows.
 */
export async function showGroups(chat: Chat, options: { quiet?: boolean } = {}): Promise<void> {
  const say = (text: string) => fill(byId("groups-status"), text);
  const run = async (what: string, call: () => Promise<unknown>, after?: () => Promise<void>) => {
    try {
      const text = await call();
      say(typeof text === "string" ? text : `${what}: done`);
    } catch (e) {
      say(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await showGroups(chat);
    await after?.();
  };
  if (!wired && !options.quiet) {
    wired = true;
    byId<HTMLFormElement>("create-group-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = byId<HTMLInputElement>("group-name").value.trim();
      const members = byId<HTMLInputElement>("group-members")
        .value.split(",")
        .map((m) => m.trim())
        .filter((m) => m !== "" && m !== chat.me);
      const applyJoinType = Number(byId<HTMLSelectElement>("group-join").value);
      if (name === "") return say("A group needs a name");
      void run(`create ${name}`, () =>
        chat.api.call("GroupService", "CreateGroup", {
          groupName: name,
          ownerId: chat.me,
          groupType: 2,
          applyJoinType,
          member: members.map((memberId) => ({ memberId, role: 0 })),
        }),
      );
    });
    byId<HTMLFormElement>("join-group-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const groupId = byId<HTMLInputElement>("join-group").value.trim();
      void run(`join ${groupId}`, async () => {
        const { joined } = await applyJoinGroup(chat.api, {
          groupId,
          remark: `${chat.me} would like to join`,
        });
        return joined ? `you joined ${groupId}` : `request sent to ${groupId}'s owner and managers`;
      });
    });
  }
  let groups: Group[];
  try {
    groups = await chat.api
      .call<{ groupList?: Group[] }>("GroupService", "GetJoinedGroups", { memberId: chat.me, limit: 100 })
      .then((r) => r.groupList ?? []);
  } catch (e) {
    say(`groups: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  for (const g of groups) chat.groupNames.set(g.groupId ?? "", g.groupName ?? g.groupId ?? "");
  if (options.quiet) return;
  fill(
    byId("groups"),
    ...groups.map((g) =>
      h(
        "li",
        { "data-group": g.groupId },
        h("span", {}, `${g.groupName} (${g.groupId})`),
        h("button", { type: "button", onclick: () => chat.open(groupKey(g.groupId ?? "")) }, "Chat"),
        h("button", { type: "button", onclick: () => void showGroup(chat, g, run) }, "Members"),
      ),
    ),
  );
}

async function showGroup(
  chat: Chat,
  g: Group,
  run: (what: string, call: () => Promise<unknown>, after?: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const groupId = g.groupId ?? "";
  const again = () => showGroup(chat, g, run);
  const detail = byId("group-detail");
  let members: Member[];
  try {
    members = await chat.api
      .call<{ members?: Member[] }>("GroupMemberService", "GetGroupMembers", { groupId })
      .then((r) => (r.members ?? []).filter((m) => roleOf(m) !== 3));
  } catch (e) {
    fill(detail, `members: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const myRole = roleOf(members.find((m) => m.memberId === chat.me) ?? {});
  const leader = myRole === 1 || myRole === 2;
  const requests = leader ? await getJoinRequests(chat.api, { groupId }).catch(() => []) : [];
  const muted = Number(g.mute ?? 0) === 1 || String(g.mute ?? "").endsWith("_MUTE");
  fill(
    detail,
    h("h3", {}, `${g.groupName} · members`),
    leader
      ? h(
          "button",
          {
            type: "button",
            onclick: () =>
              void run(
                muted ? "unmute group" : "mute group",
                async () => {
                  await chat.api.call("GroupService", "MuteGroup", { groupId, mute: muted ? 0 : 1 });
                  g.mute = muted ? 0 : 1;
                },
                again,
              ),
          },
          muted ? "Unmute the group" : "Mute the group",
        )
      : null,
    h(
      "ul",
      { class: "rows" },
      ...members.map((m) => {
        const role = roleOf(m);
        const canManage = leader && m.memberId !== chat.me && role !== 2;
        const mutedUntil = Number(m.speakDate ?? 0);
        return h(
          "li",
          { "data-member": m.memberId, "data-muted-until": mutedUntil > Date.now() ? mutedUntil : undefined },
          h(
            "span",
            {},
            `${m.memberId} · ${["member", "manager", "owner"][role] ?? "member"}`,
            mutedUntil > Date.now() ? ` · muted until ${new Date(mutedUntil).toLocaleTimeString()}` : "",
          ),
          canManage && myRole === 2
            ? h(
                "button",
                {
                  type: "button",
                  onclick: () =>
                    void run(
                      `role of ${m.memberId}`,
                      () =>
                        chat.api.call("GroupMemberService", "UpdateGroupMember", {
                          groupId,
                          memberId: m.memberId,
                          role: role === 1 ? 0 : 1,
                        }),
                      again,
                    ),
                },
                role === 1 ? "Make member" : "Make manager",
              )
            : null,
          canManage
            ? h(
                "button",
                {
                  type: "button",
                  onclick: () =>
                    void run(
                      `mute ${m.memberId}`,
                      () =>
                        chat.api.call("GroupMemberService", "MuteGroupMember", {
                          groupId,
                          memberId: m.memberId,
                          // A duration (ms from now); 0 unmutes. GroupMember.speakDate is the end time.
                          speakDate: mutedUntil > Date.now() ? 0 : MUTE_MINUTES * 60_000,
                        }),
                      again,
                    ),
                },
                mutedUntil > Date.now() ? "Unmute" : `Mute ${MUTE_MINUTES} min`,
              )
            : null,
        );
      }),
    ),
    leader ? h("h3", {}, "Join requests") : null,
    leader
      ? h(
          "ul",
          { class: "rows" },
          ...(requests.length === 0
            ? [h("li", {}, h("span", {}, "None pending"))]
            : requests.map((r) =>
                h(
                  "li",
                  { "data-join-request": r.applicantId },
                  h("span", {}, `${r.applicantId}${r.remark ? `: ${r.remark}` : ""}`),
                  h(
                    "button",
                    {
                      type: "button",
                      onclick: () =>
                        void run(
                          `approve ${r.applicantId}`,
                          () =>
                            decideJoinRequest(chat.api, {
                              groupId,
                              applicantId: r.applicantId,
                              approve: true,
                            }),
                          again,
                        ),
                    },
                    "Approve",
                  ),
                  h(
                    "button",
                    {
                      type: "button",
                      onclick: () =>
                        void run(
                          `reject ${r.applicantId}`,
                          () =>
                            decideJoinRequest(chat.api, {
                              groupId,
                              applicantId: r.applicantId,
                              approve: false,
                            }),
                          again,
                        ),
                    },
                    "Reject",
                  ),
                ),
              )),
        )
      : null,
  );
}
