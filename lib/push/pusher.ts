import type { Logger } from "pino";
import { DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { Bus } from "../ports/bus.js";
import type { KvStore } from "../ports/kv.js";
import {
  DELIVERY_QUEUE_OPTIONS,
  decodeSession,
  deliveryQueue,
  isOnline,
  type SessionRecord,
  sessionKey,
} from "../sessions/session-record.js";
import { DeliveryBatchBuilder } from "./delivery-batch.js";

/**
 * The push path (spec §5.6, DESIGN.md §2 step 5): "send this command and
 * payload to user X's devices: all of them / all but the calling device /
 * one device". It reads the session hashes of every user named in one kv
 * round trip (`hgetallMany`: a Redis pipeline for a whole group), keeps the
 * devices that count as online, groups them by gateway node and publishes
 * ONE DeliveryBatch per node on `deliveryQueue(nodeId)`, never one message
 * per user or device, also when a push names many users (group fan-out).
 * Each batch carries each distinct payload once (delivery-batch.ts).
 *
 * Pushes of one event-loop turn are published together: every push started
 * in the turn (the deliveries of a batch of sends, the receive-ACKs a
 * gateway relays) shares one session read and one DeliveryBatch per node,
 * so a busy process pays a kv round trip and a publish per turn and node,
 * not per message. Items keep their call order inside a node's batch, so a
 * conversation's pushes still leave in the order they were started.
 *
 * Devices that are offline or gone are skipped; they catch up through sync
 * (spec §8). A user without sessions is no error (fixes D29). The result
 * lists the devices targeted, which messaging uses as "was the receiver
 * online" (spec §5.6 sendToUserAllClient).
 */

/** The payload of a close-only delivery (command 0 writes nothing). */
const EMPTY = Buffer.alloc(0);

/** Which of a user's devices a push goes to. */
export type PushTarget =
  | { kind: "all" }
  /** Every online device but the calling one (spec §5.6 sendToUserExceptClient). */
  | { kind: "allExcept"; clientType: number; imei: string }
  /** Exactly this device, online or not (spec §5.6 sendToUserOneClient); nothing when it has no session. */
  | { kind: "one"; clientType: number; imei: string };

/** Every device of the user. */
export const ALL: PushTarget = { kind: "all" };

/**
 * The target for notifications to the operator of an API call (spec §5.6
 * sendMsgToUser, common.proto §1): all devices but the calling one when the
 * call names a device (imei given), else all devices (a back-office call).
 */
export function exceptCaller(device: { clientType: number; imei: string }): PushTarget {
  return device.imei === "" ? ALL : { kind: "allExcept", clientType: device.clientType, imei: device.imei };
}

/** One frame for one user. `data` is the pack's JSON value (e.g. `AddFriendPack.toJSON(pack)`). */
export interface PushItem {
  userId: string;
  target: PushTarget;
  command: number;
  data: unknown;
}

/** A device a push was published to. */
export interface TargetedDevice {
  userId: string;
  clientType: number;
  imei: string;
  nodeId: string;
}

/** One definition for gateways and publishers (lib/sessions). */
export { DELIVERY_QUEUE_OPTIONS };

/** What a {@link Pusher} needs. */
export interface PusherOptions {
  kv: KvStore;
  bus: Bus;
  logger: Logger;
  /** How long after `lastSeenMs` a device still counts as online (see lib/sessions). */
  sessionTtlMs: number;
  /** Current time in ms (tests). */
  now?: () => number;
}

/** One pushAll call waiting for its turn's flush. */
interface PendingPush {
  appId: number;
  items: readonly PushItem[];
  targeted: TargetedDevice[];
  nodes: Set<string>;
  resolve(devices: TargetedDevice[]): void;
  reject(error: unknown): void;
}

/** Sends notifications and messages to users' devices through their gateway nodes. */
export class Pusher {
  readonly #opts: PusherOptions;
  readonly #now: () => number;
  /** Nodes whose delivery queue this process declared, with when (re-declared after expiresMs/2). */
  readonly #declared = new Map<string, number>();
  /** pushAll calls of the current turn, flushed together. */
  #pending: PendingPush[] = [];

  constructor(opts: PusherOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Pushes one frame to one user's devices; resolves with the devices targeted. */
  push(appId: number, userId: string, command: number, data: unknown, target: PushTarget = ALL) {
    return this.pushAll(appId, [{ userId, target, command, data }]);
  }

  /** Pushes the same frame to many users (group fan-out): one publish per node for all of them. */
  pushToUsers(appId: number, userIds: Iterable<string>, command: number, data: unknown, target = ALL) {
    return this.pushAll(
      appId,
      [...new Set(userIds)].map((userId) => ({ userId, target, command, data })),
    );
  }

  /**
   * Pushes every item, one DeliveryBatch per gateway node in total (with
   * the other pushes of this turn). Resolves with the devices targeted;
   * rejects when a publish to one of its nodes fails (the bus said the
   * broker did not take it), after the other nodes were tried.
   */
  pushAll(appId: number, items: readonly PushItem[]): Promise<TargetedDevice[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => void this.#flush());
      this.#pending.push({ appId, items, targeted: [], nodes: new Set(), resolve, reject });
    });
  }

  /**
   * Closes every connection of a user on every gateway node, writing nothing
   * to it: one DeliveryBatch per node of Deliveries with command 0 and
   * `close_after`, each naming the session's exact connection id (as a
   * multi-login replace does, gateway/delivery/consumer.ts), so a connection
   * opened after the session hash was read is not touched. Used when the
   * user's tokens were revoked. Every record of the user's session hash is
   * targeted, online or not (a connection that is gone is no target on its
   * node). Resolves with the sessions told to close; rejects when a node's
   * publish failed, after the other nodes were tried.
   */
  async closeUser(appId: number, userId: string): Promise<TargetedDevice[]> {
    const [hash] = await this.#opts.kv.hgetallMany([sessionKey(appId, userId)]);
    const byNode = new Map<string, DeliveryBatchBuilder>();
    const closed: TargetedDevice[] = [];
    for (const value of Object.values(hash ?? {})) {
      const r = decodeSession(value);
      if (r === null || r.appId !== appId || r.userId !== userId) continue;
      let batch = byNode.get(r.nodeId);
      if (batch === undefined) {
        batch = new DeliveryBatchBuilder();
        byNode.set(r.nodeId, batch);
      }
      batch.add(
        {
          appId,
          userId,
          clientType: r.clientType,
          imei: r.imei,
          command: 0, // COMMAND_UNSPECIFIED: write nothing, only close
          closeAfter: true,
          connectionId: r.connectionId,
        },
        EMPTY,
      );
      closed.push({ userId, clientType: r.clientType, imei: r.imei, nodeId: r.nodeId });
    }
    const failures: unknown[] = [];
    await Promise.all(
      [...byNode].map(([nodeId, b]) =>
        this.#publish(nodeId, DeliveryBatch.encode(b.batch).finish()).catch((error: unknown) => {
          failures.push(error);
        }),
      ),
    );
    if (failures.length > 0) throw failures[0];
    return closed;
  }

  async #flush(): Promise<void> {
    const pushes = this.#pending;
    this.#pending = [];
    let sessions: Map<string, SessionRecord[]>;
    try {
      sessions = await this.#sessionsOf(pushes);
    } catch (error) {
      for (const p of pushes) p.reject(error);
      return;
    }
    const now = this.#now();
    const turn = new TurnBatches();
    for (const push of pushes) {
      for (const item of push.items) {
        const records = sessions.get(sessionKey(push.appId, item.userId)) ?? [];
        for (const device of pick(records, item.target, now, this.#opts.sessionTtlMs)) {
          turn.add(push, item, device);
        }
      }
    }
    const failures = new Map<string, unknown>();
    await Promise.all(
      [...turn.byNode].map(([nodeId, b]) =>
        this.#publish(nodeId, DeliveryBatch.encode(b.batch).finish()).catch((error: unknown) => {
          failures.set(nodeId, error);
        }),
      ),
    );
    for (const push of pushes) {
      const failed = [...push.nodes].find((node) => failures.has(node));
      if (failed === undefined) push.resolve(push.targeted);
      else push.reject(failures.get(failed));
    }
  }

  /** The session records of every user the pushes name (by session key), read in one kv round trip. */
  async #sessionsOf(pushes: readonly PendingPush[]): Promise<Map<string, SessionRecord[]>> {
    const keys = new Set<string>();
    for (const push of pushes) for (const item of push.items) keys.add(sessionKey(push.appId, item.userId));
    const unique = [...keys];
    const hashes = await this.#opts.kv.hgetallMany(unique);
    const sessions = new Map<string, SessionRecord[]>();
    unique.forEach((key, i) => {
      const records: SessionRecord[] = [];
      for (const value of Object.values(hashes[i] ?? {})) {
        const record = decodeSession(value);
        if (record !== null) records.push(record);
      }
      sessions.set(key, records);
    });
    return sessions;
  }

  async #publish(nodeId: string, body: Uint8Array): Promise<void> {
    const queue = deliveryQueue(nodeId);
    const { bus } = this.#opts;
    const declaredAt = this.#declared.get(nodeId);
    const fresh =
      declaredAt !== undefined && this.#now() - declaredAt < (DELIVERY_QUEUE_OPTIONS.expiresMs ?? 0) / 2;
    if (!fresh) await this.#declare(nodeId);
    try {
      await bus.publish(queue, body);
    } catch (error) {
      // The queue may have expired since it was declared here: declare again, retry once.
      this.#opts.logger.debug({ err: error, nodeId }, "delivery publish failed, redeclaring");
      await this.#declare(nodeId);
      await bus.publish(queue, body);
    }
  }

  async #declare(nodeId: string): Promise<void> {
    await this.#opts.bus.declareQueue(deliveryQueue(nodeId), DELIVERY_QUEUE_OPTIONS);
    this.#declared.set(nodeId, this.#now());
  }
}

/** The DeliveryBatch of each gateway node for one turn's pushes. */
class TurnBatches {
  readonly byNode = new Map<string, DeliveryBatchBuilder>();
  /** The JSON of one item is encoded once, however many devices receive it. */
  readonly #encoded = new Map<unknown, Buffer>();

  /** Adds `item` for one of its devices to that device's node batch, and records the target on `push`. */
  add(push: PendingPush, item: PushItem, device: SessionRecord): void {
    let dataJson = this.#encoded.get(item.data);
    if (dataJson === undefined) {
      dataJson = Buffer.from(JSON.stringify(item.data ?? null), "utf8");
      this.#encoded.set(item.data, dataJson);
    }
    let batch = this.byNode.get(device.nodeId);
    if (batch === undefined) {
      batch = new DeliveryBatchBuilder();
      this.byNode.set(device.nodeId, batch);
    }
    const { clientType, imei, nodeId } = device;
    batch.add(
      {
        appId: push.appId,
        userId: item.userId,
        clientType,
        imei,
        command: item.command,
        closeAfter: false,
        connectionId: "",
      },
      dataJson,
    );
    push.nodes.add(nodeId);
    push.targeted.push({ userId: item.userId, clientType, imei, nodeId });
  }
}

function pick(records: SessionRecord[], target: PushTarget, now: number, ttlMs: number): SessionRecord[] {
  switch (target.kind) {
    case "all":
      return records.filter((r) => isOnline(r, now, ttlMs));
    case "allExcept":
      return records.filter(
        (r) => isOnline(r, now, ttlMs) && !(r.clientType === target.clientType && r.imei === target.imei),
      );
    case "one":
      return records.filter((r) => r.clientType === target.clientType && r.imei === target.imei);
  }
}
