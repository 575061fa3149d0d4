import {
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { ImError } from "../errors/index.js";

/**
 * JSON of the original's HTTP API ↔ request and response messages, by reflection over the
 * contracts (no code per message). Field names are the proto3 JSON names, which the contracts
 * chose to be the original's keys (`fromId`, `toItem`, `successId`, …: common.proto §1).
 *
 * Reading is the proto3 JSON mapping with unknown keys ignored (Spring, the original's
 * framework, ignored them too), so int64 may come as numbers or strings, enums as numbers or
 * names, and `null` means "not set". Writing keeps the original's shapes: int64 as JSON numbers
 * (every int64 of the protocol stays below 2^53, README "Contracts"), enums as numbers,
 * scalars at their default written out (fastjson wrote `"ok":false`), lists always as arrays.
 */

/** The original JSON `body` as a request message; a body the message cannot hold is 90001. */
export function readRequest(desc: DescMessage, body: JsonValue): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw ImError.of("PARAMETER_ERROR", "the request body must be a JSON object");
  }
  let message: Record<string, unknown>;
  try {
    message = fromJson(desc, body, { ignoreUnknownFields: true }) as unknown as Record<string, unknown>;
  } catch (thrown) {
    // @bufbuild/protobuf names the message and field: "cannot decode field x.y.Z.from_id from JSON: 1".
    const detail = thrown instanceof Error ? thrown.message : String(thrown);
    throw ImError.of("PARAMETER_ERROR", detail.replace(/^cannot decode /, "cannot read "));
  }
  assertSafeInt64(desc, message);
  return message;
}

/**
 * Every int64 of the protocol stays within ±(2^53 − 1) (README "Contracts"); the services'
 * generated code refuses larger ones, so they are the caller's 90001 here, naming the field.
 */
function assertSafeInt64(desc: DescMessage, message: Record<string, unknown>): void {
  const check = (field: DescField, value: unknown): void => {
    if (typeof value === "bigint" && (value > MAX_SAFE || value < -MAX_SAFE)) {
      throw ImError.of("PARAMETER_ERROR", `${field.name} is outside ±(2^53 − 1)`);
    }
    if (typeof value === "object" && value !== null && field.message !== undefined) {
      assertSafeInt64(field.message, value as Record<string, unknown>);
    }
  };
  for (const field of desc.fields) {
    const value = fieldValue(message, field);
    if (value === undefined) continue;
    if (field.fieldKind === "list") for (const item of value as unknown[]) check(field, item);
    else if (field.fieldKind === "map") for (const item of Object.values(value as object)) check(field, item);
    else check(field, value);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const INT64_TYPES: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
  ScalarType.SINT64,
]);

function scalar(type: ScalarType, value: unknown): JsonValue {
  if (typeof value === "bigint") return INT64_TYPES.has(type) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (typeof value === "number" && !Number.isFinite(value)) return String(value); // NaN, Infinity
  return value as JsonValue;
}

/** A message as the original's JSON (see the file comment). */
export function writeOriginal(desc: DescMessage, message: Record<string, unknown>): JsonValue {
  // Well-known types (Struct, Value, …) have their own JSON forms; the library knows them.
  if (desc.typeName.startsWith("google.protobuf.")) return toJson(desc, message as never);
  const out: Record<string, JsonValue> = {};
  for (const field of desc.fields) {
    const value = fieldValue(message, field);
    if (value === undefined) continue;
    out[field.jsonName] = writeField(field, value);
  }
  return out;
}

/** The value of `field` in `message`; undefined when unset (explicit presence, another oneof case). */
function fieldValue(message: Record<string, unknown>, field: DescField): unknown {
  if (field.oneof !== undefined) {
    const oneof = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
    return oneof?.case === field.localName ? oneof.value : undefined;
  }
  const value = message[field.localName];
  return value === null ? undefined : value;
}

/** The JSON of one field's value, or of `field` taken as the response's whole `data`. */
export function writeField(field: DescField, value: unknown): JsonValue {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar, value);
    case "enum":
      return value as number;
    case "message":
      return writeOriginal(field.message, value as Record<string, unknown>);
    case "list":
      return (value as unknown[]).map((item) =>
        field.listKind === "message"
          ? writeOriginal(field.message, item as Record<string, unknown>)
          : field.listKind === "enum"
            ? (item as number)
            : scalar(field.scalar, item),
      );
    case "map": {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        out[key] =
          field.mapKind === "message"
            ? writeOriginal(field.message, item as Record<string, unknown>)
            : field.mapKind === "enum"
              ? (item as number)
              : scalar(field.scalar, item);
      }
      return out;
    }
  }
}
