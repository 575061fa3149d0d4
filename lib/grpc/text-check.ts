import { ImError } from "../errors/index.js";

/**
 * Text the database would refuse or alter, caught at the gRPC edge before
 * any handler (and so any read, write or ACK) sees it (issue 13):
 * - U+0000: PostgreSQL's `text`/`varchar` (and PGlite) refuse it with
 *   SQLSTATE 22021. A send holding one was ACKed and pushed, then failed in
 *   the store on every retry and was dead-lettered; a NUL in an id failed the
 *   reads of the checks with 90000.
 * - an unpaired UTF-16 surrogate: the driver writes it as U+FFFD, so the
 *   stored text would differ from what was ACKed and pushed. Protobuf decoding
 *   already turns invalid UTF-8 into U+FFFD, so over gRPC and the in-process
 *   path this is a guard for other callers of the same functions.
 * Column lengths and number ranges are per field and checked where the
 * fields are used (e.g. services/domain/messaging/send-checks.ts), with
 * {@link longerThan} counting characters as PostgreSQL does.
 *
 * Field paths use the proto field names (`content.message_body`,
 * `user_data[2].nick_name`), as the services' other 90001 details do.
 */

/** What is wrong with a string, if anything. */
const OK = 0;
const NUL = 1;
const SURROGATE = 2;
type Fault = typeof OK | typeof NUL | typeof SURROGATE;

const FAULT_TEXT = ["", "contains a NUL character", "contains an unpaired UTF-16 surrogate"] as const;

/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 typings this project compiles against). */
interface WellFormed {
  isWellFormed(): boolean;
}

function faultOf(s: string): Fault {
  // Both are native scans; the hot path (thousands of sends/s) allocates nothing here.
  if (s.indexOf("\u0000") !== -1) return NUL;
  if (!(s as unknown as WellFormed).isWellFormed()) return SURROGATE;
  return OK;
}

/**
 * Why `s` cannot be stored as it is: "contains a NUL character", "contains an
 * unpaired UTF-16 surrogate", or undefined when it can.
 */
export function textFault(s: string): string | undefined {
  const fault = faultOf(s);
  return fault === OK ? undefined : FAULT_TEXT[fault];
}

/** A faulty string found by {@link findFault}: the path segments from the leaf up. */
interface Found {
  fault: Fault;
  /** Reversed: the leaf's segment first (built only once something was found). */
  segments: string[];
}

function findFault(value: object, depth: number): Found | undefined {
  // Decoded messages are trees bounded by protobuf's own recursion limit; this bound only
  // keeps a hand-built cyclic object from looping.
  if (depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = faultIn(value[i], depth);
      if (found !== undefined) {
        found.segments.push(`[${i}]`);
        return found;
      }
    }
    return undefined;
  }
  for (const key in value) {
    const found = faultIn((value as Record<string, unknown>)[key], depth);
    if (found !== undefined) {
      found.segments.push(`.${snakeCase(key)}`);
      return found;
    }
    // A map field's keys are data too (ts-proto maps are plain objects).
    const keyFault = faultOf(key);
    if (keyFault !== OK) return { fault: keyFault, segments: ["[key]"] };
  }
  return undefined;
}

function faultIn(v: unknown, depth: number): Found | undefined {
  if (typeof v === "string") {
    const fault = faultOf(v);
    return fault === OK ? undefined : { fault, segments: [] };
  }
  // bytes fields (Uint8Array) are not text; numbers and booleans cannot hold any.
  if (typeof v === "object" && v !== null && !ArrayBuffer.isView(v)) return findFault(v, depth + 1);
  return undefined;
}

const UPPER = /[A-Z]/g;

/** ts-proto's property name back to the proto field name (`messageBody` → `message_body`). */
function snakeCase(name: string): string {
  return name.replace(UPPER, (c) => `_${c.toLowerCase()}`);
}

/**
 * The first string anywhere in `message` (a decoded request: nested
 * messages, repeated fields, map keys and values) that cannot be stored, as
 * "<field path> <fault>", e.g. "content.message_body contains a NUL
 * character"; undefined when every string is fine.
 */
export function textProblem(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const found = findFault(message, 0);
  if (found === undefined) return undefined;
  const path = found.segments.reverse().join("");
  return `${path.startsWith(".") ? path.slice(1) : path} ${FAULT_TEXT[found.fault]}`;
}

/** @throws ImError 90001 PARAMETER_ERROR naming the first field whose text cannot be stored */
export function checkText(message: unknown): void {
  const problem = textProblem(message);
  if (problem !== undefined) throw ImError.of("PARAMETER_ERROR", problem);
}

/**
 * Whether `s` has more than `max` characters as PostgreSQL counts them for
 * `varchar(max)`: code points, so a surrogate pair is one character (5 000
 * emoji fit `varchar(5000)` though they are 10 000 UTF-16 units). Counts only
 * when the UTF-16 length is past `max`. Meant for well-formed text
 * ({@link textFault} first).
 */
export function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  if (s.length > 2 * max) return true;
  let chars = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) chars++; // a low surrogate ends a pair already counted
  }
  return chars > max;
}

const OWN_TEXT_CHECK = new WeakSet<object>();

/**
 * Marks a handler that checks its request's text itself, so the edge check
 * ({@link requestTextChecked}) leaves it alone: a batch call that answers per
 * item (ChatService.SendMessages) refuses only the bad item, not the batch.
 */
export function checksOwnText<H extends object>(handler: H): H {
  OWN_TEXT_CHECK.add(handler);
  return handler;
}

const CHECKED: Promise<void> = Promise.resolve();

/**
 * The edge check of lib/grpc/serve.ts for one call: resolves when every
 * string of `request` can be stored (or `handler` checks its own, see
 * {@link checksOwnText}), rejects with ImError 90001 naming the field
 * otherwise.
 */
export function requestTextChecked(handler: object, request: unknown): Promise<void> {
  if (OWN_TEXT_CHECK.has(handler)) return CHECKED;
  const problem = textProblem(request);
  return problem === undefined ? CHECKED : Promise.reject(ImError.of("PARAMETER_ERROR", problem));
}
