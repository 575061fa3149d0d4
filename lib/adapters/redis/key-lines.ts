/** A place in the line of one key (see {@link KeyLines}). */
export interface LinePlace {
  /** Resolves when every earlier place in the line has ended. */
  readonly before: Promise<void>;
  /** Lets the next place go. Idempotent. */
  end(): void;
}

/**
 * Lines of places per key, first come first served: a place taken later waits for the places taken
 * before it. The map only holds each key's last place, and a key whose last place ended has no line
 * (so {@link has} tells whether anything is still in flight on it).
 */
export class KeyLines {
  readonly #tails = new Map<string, Promise<void>>();

  /** Whether a place in `key`'s line is still held. */
  has(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Takes the last place in `key`'s line (opening the line when there is none). */
  enter(key: string): LinePlace {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let end = () => {};
    const mine = new Promise<void>((resolve) => {
      end = () => {
        resolve();
        if (this.#tails.get(key) === mine) this.#tails.delete(key);
      };
    });
    this.#tails.set(key, mine);
    return { before, end };
  }

  /** A place in the line of each of `keys` that has one now; none for keys without a line. */
  join(keys: readonly string[]): LinePlace[] {
    const places: LinePlace[] = [];
    if (this.#tails.size === 0) return places; // the usual case (always, on one Redis server)
    for (const key of new Set(keys)) if (this.#tails.has(key)) places.push(this.enter(key));
    return places;
  }
}

/**
 * `reply`, settled in its places: once it settled and every earlier place of its lines ended, the
 * returned promise settles with it, and only then do its places end. So replies that share a line
 * reach their callers in the order the places were taken, even when a later one arrived first: a
 * later caller's continuation is queued after an earlier caller's. `places` is asked when `reply`
 * has settled (a place may be taken after the operation started); none: settles at once.
 */
export function settleInPlace<T>(reply: Promise<T>, places: () => readonly LinePlace[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = (answer: () => void) => {
      const taken = places();
      if (taken.length === 0) return answer();
      void Promise.all(taken.map((p) => p.before)).then(() => {
        answer();
        for (const place of taken) place.end();
      });
    };
    reply.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
