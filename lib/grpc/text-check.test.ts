import { Metadata, type ServerUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  ChatServiceSendMessagesRequest,
  ChatServiceSendP2PMessageRequest,
  ChatServiceService,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import { ImportUsersRequest } from "../../gen/ts/whaleshark/v1/user_service.js";
import { isImError } from "../errors/index.js";
import { INTERNAL_SECRET_METADATA, InternalAuthenticator } from "./auth.js";
import { errorCodeOf } from "./errors.js";
import { serveInternal } from "./serve.js";
import {
  checksOwnText,
  checkText,
  longerThan,
  requestTextChecked,
  textFault,
  textProblem,
} from "./text-check.js";

describe("textProblem", () => {
  const p2p = (content: object) =>
    ChatServiceSendP2PMessageRequest.fromPartial({
      session: { appId: 1, userId: "ann", imei: "phone" },
      content: { messageId: "m1", toId: "bob", messageBody: "hi", ...content },
    });

  it("passes text PostgreSQL stores as it is, emoji and U+FFFD included", () => {
    expect(textProblem(p2p({ messageBody: "héllo 😀 \uFFFD \u0001 \t" }))).toBeUndefined();
    expect(textProblem({})).toBeUndefined();
    expect(textProblem(null)).toBeUndefined();
    expect(textProblem("a\u0000")).toBeUndefined(); // not a message
  });

  it("names a NUL's field by its proto path", () => {
    expect(textProblem(p2p({ messageBody: "a\u0000b" }))).toBe(
      "content.message_body contains a NUL character",
    );
    expect(textProblem(p2p({ toId: "\u0000" }))).toBe("content.to_id contains a NUL character");
    const session = { appId: 1, userId: "ann", gatewayNodeId: "n\u0000" };
    expect(textProblem(ChatServiceSendP2PMessageRequest.fromPartial({ session }))).toBe(
      "session.gateway_node_id contains a NUL character",
    );
  });

  it("walks repeated fields and nested messages, reporting the first fault", () => {
    const batch = ChatServiceSendMessagesRequest.fromPartial({
      items: [
        { p2p: { messageId: "ok", toId: "bob" } },
        { group: { messageId: "g", groupId: "crew", extra: "x\u0000" } },
        { p2p: { messageBody: "\u0000" } },
      ],
    });
    expect(textProblem(batch)).toBe("items[1].group.extra contains a NUL character");
    const users = ImportUsersRequest.fromPartial({
      userData: [{ userId: "a" }, { userId: "b", nickName: "\u0000" }],
    });
    expect(textProblem(users)).toBe("user_data[1].nick_name contains a NUL character");
    expect(textProblem({ userId: ["a", "b\u0000"] })).toBe("user_id[1] contains a NUL character");
  });

  it("refuses unpaired surrogates, which the driver would store as U+FFFD", () => {
    expect(textProblem({ extra: "a\ud800" })).toBe("extra contains an unpaired UTF-16 surrogate");
    expect(textProblem({ extra: "\udc00a" })).toBe("extra contains an unpaired UTF-16 surrogate");
    expect(textProblem({ extra: "\ud83d\ude00" })).toBeUndefined();
    expect(textFault("\ud800")).toBe("contains an unpaired UTF-16 surrogate");
  });

  it("checks map keys, and leaves bytes, numbers and booleans alone", () => {
    expect(textProblem({ sequences: { "a\u0000": 1 } })).toBe("sequences[key] contains a NUL character");
    expect(
      textProblem({ body: new Uint8Array([0, 0]), n: 0, ok: false, missing: undefined }),
    ).toBeUndefined();
  });

  it("throws 90001 with the problem as the detail", () => {
    let thrown: unknown;
    try {
      checkText({ messageId: "\u0000" });
    } catch (error) {
      thrown = error;
    }
    expect(isImError(thrown) && thrown.code).toBe(90001);
    expect((thrown as Error).message).toContain("message_id contains a NUL character");
  });
});

describe("longerThan", () => {
  it("counts characters as PostgreSQL's varchar does: code points, not UTF-16 units", () => {
    expect(longerThan("x".repeat(50), 50)).toBe(false);
    expect(longerThan("x".repeat(51), 50)).toBe(true);
    expect(longerThan("😀".repeat(50), 50)).toBe(false); // 100 UTF-16 units
    expect(longerThan(`${"😀".repeat(49)}ab`, 50)).toBe(true);
    expect(longerThan("😀".repeat(51), 50)).toBe(true);
    expect(longerThan("", 0)).toBe(false);
  });
});

describe("requestTextChecked in serve()", () => {
  const SECRET = "text-check-test-internal-secret";
  const logger = pino({ level: "silent" });
  const handled: string[] = [];
  const impl = serveInternal(
    "ChatService",
    ChatServiceService,
    {
      async sendP2PMessage(req) {
        handled.push(`p2p ${req.content?.messageBody}`);
        return { data: { messageId: "m", messageKey: 1, messageSequence: 1 } };
      },
      sendMessages: checksOwnText(async (req: ChatServiceSendMessagesRequest) => {
        handled.push(`batch of ${req.items.length}`);
        return { results: [] };
      }),
    },
    { auth: new InternalAuthenticator(SECRET), logger },
  );
  const call = (method: string, request: unknown, secret = SECRET) =>
    new Promise<Partial<ServiceError> | null>((resolve) => {
      const metadata = new Metadata();
      metadata.set(INTERNAL_SECRET_METADATA, secret);
      const unary = impl[method] as (
        call: Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "request">,
        callback: (error: Partial<ServiceError> | null) => void,
      ) => void;
      unary({ metadata, request }, (error) => resolve(error));
    });

  it("refuses a request with a NUL before authentication and the handler", async () => {
    const bad = ChatServiceSendP2PMessageRequest.fromPartial({ content: { messageBody: "a\u0000" } });
    for (const secret of [SECRET, "wrong-secret-wrong-secret"]) {
      const error = await call("sendP2PMessage", bad, secret);
      expect(error?.code).toBe(3); // INVALID_ARGUMENT
      expect(errorCodeOf(error as ServiceError)).toBe(90001);
      expect(error?.details).toContain("content.message_body contains a NUL character");
    }
    const good = ChatServiceSendP2PMessageRequest.fromPartial({ content: { messageBody: "fine" } });
    expect(await call("sendP2PMessage", good)).toBeNull();
    expect(handled).toEqual(["p2p fine"]);
  });

  it("leaves a handler marked checksOwnText to check its items itself", async () => {
    const batch = ChatServiceSendMessagesRequest.fromPartial({ items: [{ p2p: { messageBody: "\u0000" } }] });
    expect(await requestTextChecked(() => undefined, {})).toBeUndefined();
    await expect(requestTextChecked(() => undefined, batch)).rejects.toThrow(/NUL/);
    expect(await call("sendMessages", batch)).toBeNull();
    expect(handled).toContain("batch of 1");
  });
});
