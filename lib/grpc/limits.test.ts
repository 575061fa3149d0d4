import { EventEmitter } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { HistoryServiceService } from "../../gen/ts/whaleshark/v1/history_service.js";
import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import type { ImError } from "../errors/index.js";
import { AppAuthenticator, INTERNAL_SECRET_METADATA, InternalAuthenticator } from "./auth.js";
import { inChunks } from "./deadline.js";
import { descriptorSetPath } from "./descriptor.js";
import { errorCodeOf } from "./errors.js";
import { checkRequestLists, propertyOf, REQUEST_LIST_LIMITS } from "./limits.js";
import { serveApp } from "./serve.js";

interface Field {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

/** Every repeated field of every request of the contracts: `Service/Method` → fields (nested ones dotted). */
function repeatedRequestFields(): Map<string, Array<{ path: string }>> {
  const pkg = loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath), { keepCase: true });
  const messages = new Map<string, { field: Field[] }>();
  for (const [name, def] of Object.entries(pkg)) {
    if ((def as { format?: string }).format?.includes("DescriptorProto") && "type" in def) {
      messages.set(name, (def as unknown as { type: { field: Field[] } }).type);
    }
  }
  const walk = (type: string, prefix: string, seen: string[], out: Array<{ path: string }>) => {
    for (const f of messages.get(type)?.field ?? []) {
      const path = `${prefix}${f.name}`;
      if (f.label === "LABEL_REPEATED") out.push({ path });
      const nested = f.typeName.replace(/^\./, "");
      if (f.type === "TYPE_MESSAGE" && !seen.includes(nested))
        walk(nested, `${path}.`, [...seen, nested], out);
    }
  };
  const result = new Map<string, Array<{ path: string }>>();
  for (const [name, def] of Object.entries(pkg)) {
    if ("format" in def) continue;
    const service = name.replace(/^whaleshark\.v1\./, "");
    if (service === name) continue; // grpc.health etc.
    for (const [method, m] of Object.entries(
      def as Record<string, { requestType: { type: { name: string } } }>,
    )) {
      const out: Array<{ path: string }> = [];
      walk(`whaleshark.v1.${m.requestType.type.name}`, "", [], out);
      result.set(`${service}/${method}`, out);
    }
  }
  return result;
}

/** The generated (ts-proto) request decoders by `Service/Method`. */
async function requestDecoders(): Promise<Map<string, (b: Buffer) => unknown>> {
  const dir = new URL("../../gen/ts/whaleshark/v1/", import.meta.url);
  const out = new Map<string, (b: Buffer) => unknown>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith("_service.ts"))) {
    const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
    for (const [name, definition] of Object.entries(mod)) {
      if (!name.endsWith("ServiceService")) continue;
      for (const m of Object.values(
        definition as Record<string, { path: string; requestDeserialize: (b: Buffer) => unknown }>,
      )) {
        out.set(m.path.replace(/^\/whaleshark\.v1\./, ""), m.requestDeserialize);
      }
    }
  }
  return out;
}

describe("REQUEST_LIST_LIMITS", () => {
  const contract = repeatedRequestFields();

  it("bounds every repeated field of every request in the contracts", () => {
    expect(contract.size).toBeGreaterThan(50); // the walk found the services
    const unbounded: string[] = [];
    for (const [method, fields] of contract) {
      for (const { path } of fields) {
        if (REQUEST_LIST_LIMITS[method]?.[path] === undefined) unbounded.push(`${method} ${path}`);
      }
    }
    // A nested list (`a.b`) would need a bound per item too: checkRequestLists reads top-level fields only.
    expect(unbounded).toEqual([]);
  });

  it("names only methods and repeated fields that exist, by the property ts-proto gives them", async () => {
    const decoders = await requestDecoders();
    for (const [method, fields] of Object.entries(REQUEST_LIST_LIMITS)) {
      const known = contract.get(method);
      expect(known, method).toBeDefined();
      // What the handler gets: the generated decoder's message, every list present (empty).
      const decoded = decoders.get(method)?.(Buffer.alloc(0)) as Record<string, unknown>;
      for (const [field, limit] of Object.entries(fields)) {
        expect(
          known?.some((k) => k.path === field),
          `${method} ${field}`,
        ).toBe(true);
        expect(Array.isArray(decoded[propertyOf(field)]), `${method} ${propertyOf(field)}`).toBe(true);
        expect(Number.isInteger(limit.max) && limit.max > 0).toBe(true);
      }
    }
  });

  it("keeps the original's 100 (and its codes) for imports, 100 for id lists, 500 group members", () => {
    expect(REQUEST_LIST_LIMITS["UserService/ImportUsers"]).toEqual({
      user_data: { max: 100, error: "USER_IMPORT_SIZE_BEYOND" },
    });
    expect(REQUEST_LIST_LIMITS["FriendshipService/ImportFriendships"]?.friend_item?.max).toBe(100);
    expect(REQUEST_LIST_LIMITS["UserService/GetUserInfo"]?.user_ids?.max).toBe(100);
    expect(REQUEST_LIST_LIMITS["GroupMemberService/AddGroupMembers"]?.members?.max).toBe(500);
  });
});

describe("checkRequestLists", () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
  const refusal = (fn: () => void): ImError => {
    try {
      fn();
    } catch (error) {
      return error as ImError;
    }
    throw new Error("not refused");
  };

  it("passes a list at its bound and refuses one past it with 90001 naming the field", () => {
    expect(() => checkRequestLists("UserService", "getUserInfo", { userIds: ids(100) })).not.toThrow();
    const e = refusal(() => checkRequestLists("UserService", "getUserInfo", { userIds: ids(200_000) }));
    expect(e.code).toBe(90001);
    expect(e.message).toContain("user_ids holds at most 100 items, got 200000");
  });

  it("refuses the imports with the original's codes", () => {
    const users = refusal(() => checkRequestLists("UserService", "importUsers", { userData: ids(101) }));
    expect(users.code).toBe(20000);
    const friends = refusal(() =>
      checkRequestLists("FriendshipService", "importFriendships", { friendItem: ids(101) }),
    );
    expect(friends.code).toBe(30000);
  });

  it("leaves methods without lists alone", () => {
    expect(() => checkRequestLists("UserService", "modifyUserInfo", { userIds: ids(1000) })).not.toThrow();
  });
});

/** A fake grpc-js unary call: request, metadata, deadline, `cancelled`. */
class Call extends EventEmitter {
  constructor(
    readonly request: unknown,
    readonly deadline: number,
    readonly metadata = new Metadata(),
  ) {
    super();
    metadata.set(INTERNAL_SECRET_METADATA, SECRET);
  }

  getDeadline(): number {
    return this.deadline;
  }
}

const SECRET = "limits-test-internal-secret-0123";

/** HistoryService.BatchSyncMessages through serveApp, with `handler` behind it. */
function served(handler: (ctx: { signal?: AbortSignal }) => Promise<void>) {
  const impl = serveApp(
    "HistoryService",
    HistoryServiceService,
    {
      async batchSyncMessages(_req, ctx) {
        await handler(ctx);
        return { conversationList: [] };
      },
    },
    {
      auth: new AppAuthenticator({
        apps: { "10001": { privateKey: "bantanger" } },
        kv: new MemoryKvStore(),
        userType: async () => 1,
      }),
      internal: new InternalAuthenticator(SECRET),
      logger: pino({ level: "silent" }),
    },
  );
  return (conversations: number, deadline: number) =>
    new Promise<Partial<ServiceError> | null>((resolve) => {
      const request = {
        appId: 10001,
        operater: "ann",
        clientType: 1,
        imei: "web",
        userId: "",
        conversations: Array.from({ length: conversations }, (_, i) => ({
          conversationId: `c${i}`,
          conversationType: 0,
          sequence: 0,
        })),
        maxCount: 0,
      };
      const unary = impl.batchSyncMessages as unknown as (
        call: Call,
        cb: (e: Partial<ServiceError> | null) => void,
      ) => void;
      unary(new Call(request, deadline), resolve);
    });
}

describe("serveApp: lists and deadlines at the edge", () => {
  it("refuses a list past its bound before authentication and the handler", async () => {
    let ran = 0;
    const call = served(async () => {
      ran++;
    });
    expect(await call(100, Number.POSITIVE_INFINITY)).toBeNull();
    const error = await call(101, Number.POSITIVE_INFINITY);
    expect(error?.code).toBe(3); // INVALID_ARGUMENT
    expect(errorCodeOf(error as ServiceError)).toBe(90001);
    expect(error?.details).toContain("conversations holds at most 100 items, got 101");
    expect(ran).toBe(1);
  });

  it("answers DEADLINE_EXCEEDED without running the handler when the deadline has passed", async () => {
    let ran = 0;
    const call = served(async () => {
      ran++;
    });
    const error = await call(1, Date.now() - 1);
    expect(error?.code).toBe(4); // DEADLINE_EXCEEDED
    expect(ran).toBe(0);
  });

  it("hands the handler a signal that stops its chunks once the deadline passes", async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    let done = 0;
    let signalSeen: AbortSignal | undefined;
    const call = served(async (ctx) => {
      signalSeen = ctx.signal;
      await inChunks(items, 1, ctx.signal, async () => {
        await new Promise((r) => setTimeout(r, 10));
        done++;
      });
    });
    const error = await call(1, Date.now() + 100);
    expect(error?.code).toBe(4);
    expect(signalSeen?.aborted).toBe(true);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(items.length); // abandoned between two chunks, not run to the end
  });
});
