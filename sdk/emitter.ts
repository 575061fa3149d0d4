/** A listener of one event. */
export type Listener<T> = (event: T) => void;

/**
 * A minimal typed event emitter (browser-safe: no node:events). A listener that throws does not
 * stop the others or the caller: its error is handed to `onListenerError`.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** Adds `listener` for `name`; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  /** Removes `listener` for `name` (no-op when absent). */
  off<K extends keyof Events>(name: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(name)?.delete(listener as Listener<never>);
  }

  /** Calls every listener of `name` with `event`; true when there was at least one. */
  emit<K extends keyof Events>(name: K, event: Events[K]): boolean {
    const set = this.#listeners.get(name);
    if (set === undefined || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
    return true;
  }
}
