import { z } from "zod";
import { isPlainObject, type PlainObject } from "./deep.js";
import { configSchema } from "./schema.js";

/**
 * What the schema looks like, read once through zod's public JSON Schema export so the env
 * coercion and the "unknown key" messages never drift from the schema itself.
 */
const JSON_SCHEMA = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as PlainObject;

/** How an environment string is coerced for a key. */
export type LeafKind = "number" | "boolean" | "string" | "other";

function nodeAt(path: readonly PropertyKey[]): PlainObject | undefined {
  let node: unknown = JSON_SCHEMA;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    const props = node.properties;
    node = isPlainObject(props) && String(key) in props ? props[String(key)] : node.additionalProperties;
  }
  return isPlainObject(node) ? node : undefined;
}

/** The keys an object at `path` accepts (empty for records and leaves). */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  const props = nodeAt(path)?.properties;
  return isPlainObject(props) ? Object.keys(props) : [];
}

/** Top-level keys and, for sections, `section.key` paths with their kind (`apps` is one JSON leaf). */
export function leafKinds(): Map<string, LeafKind> {
  const kinds = new Map<string, LeafKind>();
  for (const key of knownKeys([])) {
    const node = nodeAt([key]);
    if (node?.type === "object" && key !== "apps") {
      for (const child of knownKeys([key])) kinds.set(`${key}.${child}`, kindOf(nodeAt([key, child])?.type));
    } else {
      kinds.set(key, kindOf(node?.type));
    }
  }
  return kinds;
}

function kindOf(type: unknown): LeafKind {
  if (type === "integer" || type === "number") return "number";
  if (type === "boolean" || type === "string") return type;
  return "other";
}
