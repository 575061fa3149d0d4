import { readFileSync } from "node:fs";
import {
  createFileRegistry,
  type DescField,
  type DescMessage,
  fromBinary,
  fromJson,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { FriendGroupServiceService } from "../../gen/ts/whaleshark/v1/friend_group_service.js";
import { FriendRequestServiceService } from "../../gen/ts/whaleshark/v1/friend_request_service.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { descriptorSetPath } from "../../lib/grpc/descriptor.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { CONFIG_ADMIN, type DomainHarness, startDomainHarness } from "./harness.js";

/**
 * Issue 13: a NUL (U+0000) in any string of any app-facing domain call is
 * refused with 90001 naming the field, before anything reads or writes it;
 * PostgreSQL refuses NUL in text, so such calls used to fail with 90000 (a
 * database error in the log), or worse. Every string field of every request,
 * nested and repeated ones included, is found from the contracts' descriptor
 * set, so a field added later is covered without editing this test.
 */

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath)));

/** The app services the domain serves with handlers (MessageService: services/domain/messaging). */
const SERVICES: Array<[string, object]> = [
  ["UserService", UserServiceService],
  ["FriendshipService", FriendshipServiceService],
  ["FriendRequestService", FriendRequestServiceService],
  ["FriendGroupService", FriendGroupServiceService],
  ["GroupService", GroupServiceService],
  ["GroupMemberService", GroupMemberServiceService],
  ["ConversationService", ConversationServiceService],
];

/** A string field somewhere in a request: its proto path and a JSON request holding `value` there. */
interface TextField {
  path: string;
  json(value: string): Record<string, unknown>;
}

/** Every string field reachable from `message` (one element of each repeated field). */
function textFields(message: DescMessage, seen: readonly string[] = []): TextField[] {
  if (seen.includes(message.typeName) || seen.length > 4) return [];
  const out: TextField[] = [];
  for (const field of message.fields) {
    const nested = (inner: DescMessage, list: boolean) =>
      textFields(inner, [...seen, message.typeName]).map((f) => ({
        path: `${field.name}${list ? "[0]" : ""}.${f.path}`,
        json: (v: string) => ({ [field.jsonName]: list ? [f.json(v)] : f.json(v) }),
      }));
    if (isString(field)) {
      const list = field.fieldKind === "list";
      out.push({
        path: `${field.name}${list ? "[0]" : ""}`,
        json: (v) => ({ [field.jsonName]: list ? [v] : v }),
      });
    } else if (field.fieldKind === "message") out.push(...nested(field.message, false));
    else if (field.fieldKind === "list" && field.listKind === "message")
      out.push(...nested(field.message, true));
  }
  return out;
}

function isString(field: DescField): boolean {
  if (field.fieldKind === "scalar") return field.scalar === ScalarType.STRING;
  return field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING;
}

/** A method of a ts-proto service definition, as far as this test uses it. */
interface MethodDef {
  requestDeserialize(bytes: Buffer): object;
}

let h: DomainHarness;
beforeAll(async () => {
  h = await startDomainHarness();
  await h.users([CONFIG_ADMIN]);
});
afterAll(() => h?.close());

describe("a NUL in any string of an app call (issue 13)", () => {
  it.each(SERVICES)(
    "%s answers 90001 naming the field, for every field of every method",
    async (name, def) => {
      const service = registry.getService(`whaleshark.v1.${name}`);
      if (service === undefined) throw new Error(`${name} is not in the descriptor set`);
      const caller = h.as(def, CONFIG_ADMIN) as unknown as Record<string, (req: object) => Promise<unknown>>;
      const methods = def as Record<string, MethodDef>;
      const wrong: string[] = [];
      let probed = 0;
      for (const method of service.methods) {
        const generated = methods[method.localName];
        const call = caller[method.localName];
        if (generated === undefined || call === undefined) throw new Error(`no method ${method.name}`);
        for (const field of textFields(method.input)) {
          probed++;
          // JSON → wire bytes by the descriptor → the generated type's decoded request.
          const bytes = toBinary(method.input, fromJson(method.input, field.json("a\u0000b") as never));
          const error = await call(generated.requestDeserialize(Buffer.from(bytes))).then(
            () => undefined,
            (e: grpc.ServiceError) => e,
          );
          const expected = `${field.path} contains a NUL character`;
          const got = error === undefined ? "success" : `${errorCodeOf(error)} ${error.details}`;
          if (error === undefined || errorCodeOf(error) !== 90001 || !error.details.endsWith(expected)) {
            wrong.push(`${method.name} ${field.path}: ${got}`);
          }
        }
      }
      expect(wrong).toEqual([]);
      expect(probed).toBeGreaterThan(service.methods.length); // every method has RequestBase's strings at least
    },
  );
});
