/**
 * A growable ring buffer: O(1) push and shift at both ends. The memory bus
 * keeps every queue in one, because `Array.prototype.shift` is O(n) and a
 * backlog of 100 000 messages would make each delivery copy the whole queue.
 */
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(initialCapacity = 16) {
    this.items = new Array<T | undefined>(Math.max(2, initialCapacity));
  }

  /** Number of elements held. */
  get length(): number {
    return this.size;
  }

  /** Appends at the tail. */
  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) % this.items.length] = item;
    this.size++;
  }

  /** Prepends at the head (the next `shift` returns it). */
  unshift(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.size++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let the garbage collector have it
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return item;
  }

  /** Removes every element and returns them in order. */
  drain(): T[] {
    const out: T[] = [];
    while (this.size > 0) out.push(this.shift() as T);
    return out;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
