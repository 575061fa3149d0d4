import type { Logger } from "pino";
import { DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { Bus } from "../ports/bus.js";
import type { KvStore } from "../ports/kv.js";
import { decodeSession, isOnline, type SessionRecord, sessionKey } from "../sessions/session-record.js";
import { activeTraceparent, batchTraceHeaders } from "../tracing/index.js";
import { DeliveryBatchBuilder } from "./delivery-batch.js";
import { createKvEpoch, KV_EPOCH_KEY, KvEpochWatch } from "./kv-epoch.js";
import { type NodeMessage, NodePublisher } from "./node-publisher.js";

/**
 * The push path (spec §5.6, docs/architecture.md §2 step 5): "send this command and
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
 *
 * Pushes during a kv loss (issue 15): when kv loses its data (a Redis
 * flush or restart), every session record is gone until the gateways write
 * theirs back (gateway/session/session-restorer.ts, checks 4 times a second),
 * and a push in between finds nobody. So every session read also reads the
 * kv epoch (kv-epoch.ts), in the same kv batch and after the session hashes,
 * so a read that saw the sessions wiped also sees the epoch wiped or
 * changed. From the turn that sees the loss until {@link LOSS_WINDOW_MS}
 * later, every push item is KEPT with the devices it reached. Every
 * {@link RETRY_EVERY_MS} one turn (the next one, or its own when nothing is
 * pushed) reads the sessions of every kept item's user; every other turn
 * reads only its own users' sessions, as without a loss, and also looks at
 * the items kept for those users. Either way a kept item is sent to the
 * devices that have reappeared and it has not reached yet (a device is its
 * clientType and imei, whatever its node, so it is never sent the same item
 * twice by this), ahead of the turn's own pushes and in the order the items
 * were pushed, so a device still gets each conversation in order. Bounds:
 * time, the window (after it, what is left is given up: those devices catch
 * up through sync, as before); memory, at most {@link MAX_KEPT} items (items
 * beyond it are not kept; each holds a reference to its payload, shared
 * with the caller, and a small set); kv, one read of the kept users per
 * RETRY_EVERY_MS. The push's own promise still resolves at its first turn:
 * a retry is fire-and-forget, its failures logged.
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

/** How long after a kv loss is seen pushes are kept for retry (see {@link Pusher}). */
export const LOSS_WINDOW_MS = 10_000;
/** How often kept pushes are retried while nothing else is pushed. */
export const RETRY_EVERY_MS = 200;
/** At most this many push items kept at once; items beyond it are not kept. */
export const MAX_KEPT = 20_000;

/** One definition for gateways and publishers (lib/sessions). */
export { DELIVERY_QUEUE_OPTIONS } from "./node-publisher.js";

/** What a {@link Pusher} needs. */
export interface PusherOptions {
  kv: KvStore;
  bus: Bus;
  logger: Logger;
  /** How long after `lastSeenMs` a device still counts as online (see lib/sessions). */
  sessionTtlMs: number;
  /** Current time in ms (tests). */
  now?: () => number;
  /** Overrides of {@link LOSS_WINDOW_MS}, {@link RETRY_EVERY_MS}, {@link MAX_KEPT} (tests). */
  lossWindowMs?: number;
  retryEveryMs?: number;
  maxKept?: number;
}

/** A push item kept for retry after a kv loss, with the devices (clientType:imei) it reached. */
interface KeptItem {
  appId: number;
  item: PushItem;
  reached: Set<string>;
}

/** One pushAll call waiting for its turn's flush. */
interface PendingPush {
  appId: number;
  items: readonly PushItem[];
  /** The span the push was made under (tracing on: a message's send); its payloads carry it. */
  trace: string | undefined;
  targeted: TargetedDevice[];
  nodes: Set<string>;
  resolve(devices: TargetedDevice[]): void;
  reject(error: unknown): void;
}

/** Sends notifications and messages to users' devices through their gateway nodes. */
export class Pusher {
  readonly #opts: PusherOptions;
  readonly #now: () => number;
  /**
   * Publishes the batches, one per node (its queue rule and failure rule: node-publisher.ts). The
   * gateway's multi-login kicks use it too (gateway/session/kick.ts), so one process declares each
   * node's queue once for both.
   */
  readonly nodePublisher: NodePublisher;
  /** pushAll calls of the current turn, flushed together. */
  #pending: PendingPush[] = [];
  readonly #epoch = new KvEpochWatch();
  /** Until when (ms) push items are kept for retry: a kv loss was seen LOSS_WINDOW_MS before. */
  #keepUntil = 0;
  /** Kept items by the session key of their user, each list in push order. */
  readonly #kept = new Map<string, KeptItem[]>();
  #keptCount = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** The next turn reads the sessions of every kept item's user (set every RETRY_EVERY_MS). */
  #retryDue = false;
  /** Since start: deliveries sent by retries of kept items, and kept items given up (metrics, tests). */
  retriedDeliveries = 0;
  keptGivenUp = 0;

  constructor(opts: PusherOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.nodePublisher = new NodePublisher({ bus: opts.bus, logger: opts.logger, now: this.#now });
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
      const trace = activeTraceparent();
      this.#pending.push({ appId, items, trace, targeted: [], nodes: new Set(), resolve, reject });
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
    const messages = new Map<string, NodeMessage>();
    for (const [nodeId, b] of byNode) messages.set(nodeId, { body: DeliveryBatch.encode(b.batch).finish() });
    const failures = await this.nodePublisher.publish(messages);
    if (failures.size > 0) throw failures.values().next().value;
    return closed;
  }

  /** Push items kept for retry right now (tests, metrics). */
  get keptCount(): number {
    return this.#keptCount;
  }

  async #flush(): Promise<void> {
    const pushes = this.#pending;
    this.#pending = [];
    let sessions: Map<string, SessionRecord[]>;
    try {
      sessions = await this.#sessionsOf(pushes, this.#keptKeysToRead());
    } catch (error) {
      for (const p of pushes) p.reject(error);
      this.#scheduleRetry();
      return;
    }
    const now = this.#now();
    const turn = new TurnBatches();
    const { sessionTtlMs } = this.#opts;
    const devicesOf = (appId: number, item: PushItem) =>
      pick(sessions.get(sessionKey(appId, item.userId)) ?? [], item.target, now, sessionTtlMs);
    // Kept items first, so a device that reappeared gets them before this turn's newer pushes:
    // the items kept for every user this turn read, also those kept by a turn whose read finished
    // while this one's was under way (they were pushed earlier, so they go first).
    const retried: Array<{ kept: KeptItem; device: string; nodeId: string }> = [];
    const keptHere =
      this.#keptCount === 0 ? [] : [...sessions.keys()].flatMap((key) => this.#kept.get(key) ?? []);
    for (const k of keptHere) {
      for (const record of devicesOf(k.appId, k.item)) {
        const device = deviceOf(record);
        if (k.reached.has(device)) continue;
        k.reached.add(device);
        turn.add(k.appId, k.item, record);
        retried.push({ kept: k, device, nodeId: record.nodeId });
      }
    }
    const keeping = now < this.#keepUntil;
    for (const push of pushes) {
      for (const item of push.items) {
        const reached = new Set<string>();
        for (const record of devicesOf(push.appId, item)) {
          turn.add(push.appId, item, record, push.trace);
          push.nodes.add(record.nodeId);
          push.targeted.push({ ...deviceFields(record), userId: item.userId });
          reached.add(deviceOf(record));
        }
        if (keeping) this.#keep({ appId: push.appId, item, reached });
      }
    }
    const messages = new Map<string, NodeMessage>();
    for (const [nodeId, b] of turn.byNode) {
      messages.set(nodeId, {
        body: DeliveryBatch.encode(b.batch).finish(),
        headers: turn.traceHeaders(nodeId),
      });
    }
    const failures = await this.nodePublisher.publish(messages);
    for (const r of retried) {
      if (failures.has(r.nodeId))
        r.kept.reached.delete(r.device); // the next retry tries it again
      else this.retriedDeliveries++;
    }
    for (const push of pushes) {
      const failed = [...push.nodes].find((node) => failures.has(node));
      if (failed === undefined) push.resolve(push.targeted);
      else push.reject(failures.get(failed));
    }
    this.#scheduleRetry();
  }

  /**
   * The session keys of the kept items this turn reads besides its own: all of them when a retry
   * is due, none otherwise. When the window is over, gives the kept items up (their devices sync).
   */
  #keptKeysToRead(): readonly string[] {
    if (this.#now() >= this.#keepUntil && this.#keptCount > 0) {
      this.keptGivenUp += this.#keptCount;
      this.#opts.logger.info(
        { kept: this.#keptCount, retriedDeliveries: this.retriedDeliveries },
        "kv-loss retry window over: kept pushes released",
      );
      this.#kept.clear();
      this.#keptCount = 0;
    }
    if (!this.#retryDue) return [];
    this.#retryDue = false;
    return [...this.#kept.keys()];
  }

  #keep(kept: KeptItem): void {
    if (this.#keptCount >= (this.#opts.maxKept ?? MAX_KEPT)) {
      this.keptGivenUp++;
      return;
    }
    const key = sessionKey(kept.appId, kept.item.userId);
    const list = this.#kept.get(key);
    if (list === undefined) this.#kept.set(key, [kept]);
    else list.push(kept);
    this.#keptCount++;
  }

  /** Makes a retry of every kept item due in RETRY_EVERY_MS. */
  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#keptCount === 0) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#retryDue = true;
      if (this.#pending.length === 0) void this.#flush(); // else the turn under way does it
    }, this.#opts.retryEveryMs ?? RETRY_EVERY_MS);
    this.#retryTimer.unref();
  }

  /**
   * The session records of every user the pushes name and of `keptKeys` (session keys), read in
   * one kv batch, and the kv epoch read after them in the same batch (see the class comment):
   * a loss it shows opens the keep window.
   */
  async #sessionsOf(
    pushes: readonly PendingPush[],
    keptKeys: readonly string[],
  ): Promise<Map<string, SessionRecord[]>> {
    const keys = new Set<string>(keptKeys);
    for (const push of pushes) for (const item of push.items) keys.add(sessionKey(push.appId, item.userId));
    const unique = [...keys];
    const { kv } = this.#opts;
    // Both asked in the same turn, hashes first: one kv batch, in this order.
    const [hashes, epoch] = await Promise.all([kv.hgetallMany(unique), kv.get(KV_EPOCH_KEY)]);
    if (this.#epoch.observe(epoch)) {
      const windowMs = this.#opts.lossWindowMs ?? LOSS_WINDOW_MS;
      this.#keepUntil = this.#now() + windowMs;
      this.#opts.logger.warn(
        { windowMs },
        "kv lost its data (epoch gone or changed): pushes are kept and retried as sessions come back",
      );
    }
    if (epoch === null) {
      // Not awaited: this turn must not fall behind the turns read after it (kept items go first).
      createKvEpoch(kv, Date.now()).catch((err: unknown) =>
        this.#opts.logger.warn({ err }, "could not re-create the kv epoch; the next push retries"),
      );
    }
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
}

/** The DeliveryBatch of each gateway node for one turn's pushes. */
class TurnBatches {
  readonly byNode = new Map<string, DeliveryBatchBuilder>();
  /** The JSON of one item is encoded once, however many devices receive it. */
  readonly #encoded = new Map<unknown, Buffer>();
  /**
   * Per node, the traceparent of each payload (by payload index) whose push was traced: a payload
   * is one message's data, so one trace (docs/tracing.md). Empty while tracing is off.
   */
  readonly #traces = new Map<string, (string | undefined)[]>();

  /** The trace headers of a node's batch (lib/tracing `traceparents`); none when nothing was traced. */
  traceHeaders(nodeId: string): Record<string, string> | undefined {
    const traces = this.#traces.get(nodeId);
    return traces === undefined ? undefined : batchTraceHeaders(traces);
  }

  /** Adds `item` for one of its devices to that device's node batch; `trace` names its push's span. */
  add(appId: number, item: PushItem, device: SessionRecord, trace?: string): void {
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
    const payloadIndex = batch.add(
      {
        appId,
        userId: item.userId,
        clientType: device.clientType,
        imei: device.imei,
        command: item.command,
        closeAfter: false,
        connectionId: "",
      },
      dataJson,
    );
    if (trace === undefined) return;
    let traces = this.#traces.get(device.nodeId);
    if (traces === undefined) {
      traces = [];
      this.#traces.set(device.nodeId, traces);
    }
    traces[payloadIndex] ??= trace;
  }
}

/** What names a device for the kept items' "reached" sets: not its node, which changes on reconnect. */
function deviceOf(r: SessionRecord): string {
  return `${r.clientType}:${r.imei}`;
}

function deviceFields(r: SessionRecord): Omit<TargetedDevice, "userId"> {
  return { clientType: r.clientType, imei: r.imei, nodeId: r.nodeId };
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
