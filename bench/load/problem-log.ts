/** Counts problems by kind and keeps the first examples, so a report can say what went wrong. */
export class ProblemLog {
  readonly #counts = new Map<string, { count: number; example: string }>();

  /** Records one problem; its kind is the text without the user id and numbers. */
  add(text: string): void {
    const kind = text.replace(/ [^ ]+: /, ": ").replace(/\d+/g, "N");
    const seen = this.#counts.get(kind);
    if (seen) seen.count++;
    else this.#counts.set(kind, { count: 1, example: text });
  }

  /** `count × example` per kind, most frequent first; empties the log. */
  drain(): string[] {
    const out = [...this.#counts.values()]
      .sort((a, b) => b.count - a.count)
      .map((p) => `${p.count} × ${p.example.slice(0, 300)}`);
    this.#counts.clear();
    return out;
  }
}
