import { spawnSync } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { Journal } from "./journal.js";
import { encodePub, scanRecords } from "./record-codec.js";
import { listSegments } from "./segment-dir.js";

const logger = pino({ level: "silent" });
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "ws-journal-"));
  dirs.push(dir);
  return dir;
};
const bytes = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Every record of the journal's segments, oldest first. */
async function recordsIn(dir: string) {
  const all = [];
  for (const s of await listSegments(dir)) all.push(...scanRecords(await readFile(s.path)).records);
  return all;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("Journal", () => {
  it("resolves an append only once its record is in the file and synced", async () => {
    const dir = await tempDir();
    const { journal } = await Journal.open({ dir, logger });
    const id = await journal.append("jobs", bytes("durable"), { k: "v" });
    expect(journal.syncs).toBe(1);
    expect(await recordsIn(dir)).toEqual([
      { kind: "pub", id, queue: "jobs", headers: { k: "v" }, body: bytes("durable") },
    ]);
    await journal.close();
  });

  it("group-commits: appends of one turn, and those made while a flush runs, share a sync", async () => {
    const dir = await tempDir();
    const { journal } = await Journal.open({ dir, logger });
    const first = Array.from({ length: 200 }, (_, i) => journal.append("jobs", bytes(`a${i}`), {}));
    await new Promise((r) => setImmediate(r)); // the first flush has started
    const second = Array.from({ length: 200 }, (_, i) => journal.append("jobs", bytes(`b${i}`), {}));
    const ids = await Promise.all([...first, ...second]);
    expect(journal.syncs).toBe(2);
    expect(ids).toEqual(Array.from({ length: 400 }, (_, i) => ids[0]! + i)); // in call order
    expect((await recordsIn(dir)).map((r) => r.id)).toEqual(ids);
    await journal.close();
  });

  it("returns the unacked messages at the next open, oldest first, and never reuses an id", async () => {
    const dir = await tempDir();
    const first = await Journal.open({ dir, logger });
    const ids = await Promise.all(["m1", "m2", "m3"].map((b) => first.journal.append("q", bytes(b), {})));
    first.journal.ack(ids[1]!);
    await first.journal.close();
    const second = await Journal.open({ dir, logger });
    expect(second.pending.map((p) => [p.id, str(p.body)])).toEqual([
      [ids[0], "m1"],
      [ids[2], "m3"],
    ]);
    expect(await second.journal.append("q", bytes("m4"), {})).toBeGreaterThan(ids[2]!);
    await second.journal.close();
  });

  it("ignores a torn last record and cuts the file back to the last good one", async () => {
    const dir = await tempDir();
    const first = await Journal.open({ dir, logger });
    const id = await first.journal.append("q", bytes("whole"), {});
    await first.journal.close();
    const [segment] = await listSegments(dir);
    const good = (await stat(segment!.path)).size;
    const torn = encodePub({ id: id + 1, queue: "q", headers: {}, body: bytes("torn") });
    await appendFile(segment!.path, torn.subarray(0, torn.length - 3));
    const second = await Journal.open({ dir, logger });
    expect(second.pending.map((p) => [p.id, str(p.body)])).toEqual([[id, "whole"]]);
    expect(await recordsIn(dir)).toHaveLength(1); // compacted into a new segment: the whole one only
    expect((await stat((await listSegments(dir))[0]!.path)).size).toBe(good);
    await second.journal.close();
  });

  it("compacts: past the size bound a new segment holds only live entries, older ones are deleted", async () => {
    const dir = await tempDir();
    const maxSegmentBytes = 8 * 1024;
    const { journal } = await Journal.open({ dir, logger, maxSegmentBytes });
    const kept: number[] = [];
    for (let round = 0; round < 50; round++) {
      const ids = await Promise.all(
        Array.from({ length: 20 }, (_, i) => journal.append("q", bytes(`r${round}-${i}`.padEnd(100)), {})),
      );
      kept.push(ids[0]!); // one of every round stays live
      for (const id of ids.slice(1)) journal.ack(id);
    }
    await journal.append("q", bytes("last"), {}).then((id) => kept.push(id));
    const segments = await listSegments(dir);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.number).toBeGreaterThan(5); // it rolled over many times
    expect((await stat(segments[0]!.path)).size).toBeLessThan(2 * maxSegmentBytes + 20 * 150);
    await journal.close();
    const reopened = await Journal.open({ dir, logger, maxSegmentBytes });
    expect(reopened.pending.map((p) => p.id)).toEqual(kept);
    const records = await recordsIn(dir);
    expect(records.every((r) => r.kind === "pub")).toBe(true); // opening compacts too
    expect(records).toHaveLength(kept.length);
    await reopened.journal.close();
  });

  it("refuses a directory another live process holds, and takes over a dead one's lock", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "LOCK"), String(process.ppid)); // our parent: alive
    await expect(Journal.open({ dir, logger })).rejects.toThrow(/in use by process/);
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    await writeFile(join(dir, "LOCK"), gone.stdout.toString()); // exited: a crashed holder
    const { journal } = await Journal.open({ dir, logger });
    expect((await readFile(join(dir, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await journal.close();
    await expect(stat(join(dir, "LOCK"))).rejects.toThrow(/ENOENT/);
  });
});
