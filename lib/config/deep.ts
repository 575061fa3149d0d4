/** Plain-object helpers for layering config sources. */

/** Every property optional, at every depth (used for `loadConfig({ overrides })`). */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** A JSON-like object: what YAML, JSON and the env reader produce. */
export type PlainObject = { [key: string]: unknown };

/** True for `{...}` objects (not arrays, not null). */
export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges `top` over `base` into a new object. Objects merge key by key; arrays, scalars and the
 * keys listed in `atomic` (dotted paths) are replaced whole. `apps` is atomic so a file that lists
 * its own apps does not silently keep the embedded demo app.
 */
export function deepMerge(
  base: PlainObject,
  top: PlainObject,
  atomic: ReadonlySet<string>,
  prefix = "",
): PlainObject {
  const out: PlainObject = { ...base };
  for (const [key, value] of Object.entries(top)) {
    if (value === undefined) continue;
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const current = out[key];
    out[key] =
      !atomic.has(path) && isPlainObject(current) && isPlainObject(value)
        ? deepMerge(current, value, atomic, path)
        : value;
  }
  return out;
}

/** The value at a path of keys, or undefined when any step is missing. */
export function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isPlainObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Sets a value at a path of keys, creating objects on the way. */
export function setPath(root: PlainObject, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    let next = node[key];
    if (!isPlainObject(next)) {
      next = {};
      node[key] = next;
    }
    node = next as PlainObject;
  }
  node[path[path.length - 1] ?? ""] = value;
}

/** Freezes an object graph in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
