/**
 * The live progress line on stderr. On a terminal it is rewritten in place (at most every 250 ms);
 * otherwise (CI, a pipe) a line is printed every `plainEveryMs`, so logs stay readable.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  #lastAt = 0;
  #pending = "";
  #open = false;

  constructor(stream: NodeJS.WriteStream = process.stderr, plainEveryMs = 5_000) {
    this.#tty = stream.isTTY === true;
    this.#plainEveryMs = plainEveryMs;
    this.#stream = stream;
  }

  /** Shows `text` as the current state (rate-limited). */
  update(text: string): void {
    this.#pending = text;
    const now = performance.now();
    if (now - this.#lastAt < (this.#tty ? 250 : this.#plainEveryMs)) return;
    this.#lastAt = now;
    this.#write(text);
  }

  /** Prints a line that stays (a phase starting, a result), above the progress line. */
  note(text: string): void {
    this.#clear();
    this.#stream.write(`${text}\n`);
    if (this.#tty && this.#pending !== "") this.#write(this.#pending);
  }

  /** Ends the progress line, leaving its last state on screen. */
  done(): void {
    if (this.#tty && this.#open) this.#stream.write("\n");
    this.#open = false;
    this.#pending = "";
  }

  #write(text: string): void {
    if (this.#tty) {
      this.#stream.write(`\r\x1b[K${text}`);
      this.#open = true;
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  #clear(): void {
    if (this.#tty && this.#open) this.#stream.write("\r\x1b[K");
    this.#open = false;
  }
}
