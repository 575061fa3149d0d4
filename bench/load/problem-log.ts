/** Problems of one kind: how often, and the first one seen. */
export interface ProblemCount {
  /** The text without the user id and numbers. */
  kind: string;
  count: number;
  example: string;
}

/** Counts problems by kind and keeps the first examples, so a report can say what went wrong. */
export class ProblemLog {
  readonly #counts = new Map<string, ProblemCount>();

  /** Records one problem (`<what> <userId>: <detail>`). */
  add(text: string): void {
    const kind = text.replace(/ [^ ]+: /, ": ").replace(/\d+/g, "N");
    const seen = this.#counts.get(kind);
    if (seen) seen.count++;
    else this.#counts.set(kind, { kind, count: 1, example: text.slice(0, 300) });
  }

  /** The counts so far, and empties the log. */
  drain(): ProblemCount[] {
    const out = [...this.#counts.values()];
    this.#counts.clear();
    return out;
  }
}

/** Adds up the problems of several logs by kind: `count × example`, most frequent first. */
export function summarizeProblems(logs: ProblemCount[][]): string[] {
  const merged = new Map<string, ProblemCount>();
  for (const p of logs.flat()) {
    const seen = merged.get(p.kind);
    if (seen) seen.count += p.count;
    else merged.set(p.kind, { ...p });
  }
  return [...merged.values()].sort((a, b) => b.count - a.count).map((p) => `${p.count} × ${p.example}`);
}
