/** A tiny element builder: no framework, no innerHTML (every text goes in as text, never markup). */
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;
type Child = Node | string | number | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`console: no #${id} in the page`);
  return el as T;
}

/**
 * Makes `parent`'s children `next`, touching only what changed: a child equal to its replacement
 * (same markup) stays in place, so a live region (the message log) announces only new or changed
 * messages, not the whole conversation again.
 */
export function reconcile(parent: Element, next: HTMLElement[]): void {
  const old = new Map<string, Element>();
  for (const child of Array.from(parent.children)) {
    const key = (child as HTMLElement).dataset.key;
    if (key !== undefined) old.set(key, child);
  }
  const wanted = next.map((el) => {
    const kept = el.dataset.key === undefined ? undefined : old.get(el.dataset.key);
    return kept?.isEqualNode(el) === true ? kept : el;
  });
  const keep = new Set<Element>(wanted);
  for (const child of Array.from(parent.children)) if (!keep.has(child)) child.remove();
  wanted.forEach((el, i) => {
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] ?? null);
  });
}
