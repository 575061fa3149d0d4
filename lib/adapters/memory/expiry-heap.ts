/**
 * A binary min-heap of (deadline, key) pairs: the memory kv store's index of
 * keys that carry a TTL, so a periodic sweep finds the expired ones in
 * O(log n) each instead of scanning every key. Entries go stale when a key's
 * TTL changes or it is deleted; the sweep checks each popped entry against the
 * key's current deadline, and a stale entry is dropped when its time comes.
 */
export class ExpiryHeap {
  private readonly deadlines: number[] = [];
  private readonly keys: string[] = [];

  /** Number of entries, stale ones included. */
  get length(): number {
    return this.deadlines.length;
  }

  /** Records that `key` expires at `deadline` (epoch ms). */
  push(deadline: number, key: string): void {
    this.deadlines.push(deadline);
    this.keys.push(key);
    let i = this.deadlines.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.deadlines[parent]! <= deadline) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the earliest entry when its deadline is at or before `now`. */
  popDue(now: number): { deadline: number; key: string } | undefined {
    const top = this.deadlines[0];
    if (top === undefined || top > now) return undefined;
    const key = this.keys[0]!;
    const lastDeadline = this.deadlines.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.deadlines.length > 0) {
      this.deadlines[0] = lastDeadline;
      this.keys[0] = lastKey;
      this.siftDown(0);
    }
    return { deadline: top, key };
  }

  private siftDown(start: number): void {
    const n = this.deadlines.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.deadlines[left]! < this.deadlines[smallest]!) smallest = left;
      if (right < n && this.deadlines[right]! < this.deadlines[smallest]!) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const d = this.deadlines[a]!;
    this.deadlines[a] = this.deadlines[b]!;
    this.deadlines[b] = d;
    const k = this.keys[a]!;
    this.keys[a] = this.keys[b]!;
    this.keys[b] = k;
  }
}
