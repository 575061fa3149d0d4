import { describe, expect, it } from "vitest";
import { KeyLines, settleInPlace } from "./key-lines.js";

/** A promise settled from outside. */
function later<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("KeyLines", () => {
  it("lets a place go once every earlier place of its key ended, and forgets a line left empty", async () => {
    const lines = new KeyLines();
    const first = lines.enter("k");
    const second = lines.enter("k");
    const other = lines.enter("j");
    const went: string[] = [];
    void second.before.then(() => went.push("second"));
    void other.before.then(() => went.push("other"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(went).toEqual(["other"]); // another key's line does not wait
    first.end();
    await second.before;
    expect(went).toEqual(["other", "second"]);
    expect(lines.has("k")).toBe(true);
    second.end();
    other.end();
    expect(lines.has("k")).toBe(false);
    expect(lines.has("j")).toBe(false);
  });

  it("joins only the lines that are open", () => {
    const lines = new KeyLines();
    lines.enter("open");
    expect(lines.join(["open", "closed", "open"])).toHaveLength(1);
    expect(lines.has("closed")).toBe(false);
  });
});

describe("settleInPlace", () => {
  it("answers in the order the places were taken, whatever order the replies arrive in", async () => {
    const lines = new KeyLines();
    const replies = [later<number>(), later<number>(), later<number>()];
    const answered: string[] = [];
    const answers = replies.map((reply, i) => {
      const place = lines.enter("counter");
      return settleInPlace(reply.promise, () => [place]).then(
        (value) => answered.push(`${i}:${value}`),
        (error: Error) => answered.push(`${i}:${error.message}`),
      );
    });
    replies[2]?.resolve(30);
    replies[1]?.reject(new Error("refused"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toEqual([]); // the first place still holds the line
    replies[0]?.resolve(10);
    await Promise.all(answers);
    expect(answered).toEqual(["0:10", "1:refused", "2:30"]);
    expect(lines.has("counter")).toBe(false);
  });

  it("settles at once without places", async () => {
    expect(await settleInPlace(Promise.resolve("now"), () => [])).toBe("now");
  });
});
