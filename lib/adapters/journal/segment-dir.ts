import { open, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { type JournalRecord, scanRecords } from "./record-codec.js";

/** A segment file of the journal directory; a higher number was started later. */
export interface SegmentName {
  number: number;
  path: string;
}

const SEGMENT_NAME = /^segment-(\d{12})\.log$/;

/** The path of segment `number` in `dir` (zero-padded, so names sort like numbers). */
export function segmentPath(dir: string, number: number): string {
  return join(dir, `segment-${String(number).padStart(12, "0")}.log`);
}

/** The segments in `dir`, oldest first; other files are ignored. */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const found: SegmentName[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match?.[1] !== undefined) found.push({ number: Number(match[1]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.number - b.number);
}

/**
 * Reads every whole record of a segment. A torn or corrupt tail (a crash in
 * the middle of a write) is logged and cut off, so the file ends at its last
 * good record. Nothing in such a tail was ever confirmed: `publish` resolves
 * only after its bytes and everything before them were synced.
 */
export async function readSegment(segment: SegmentName, logger: Logger): Promise<JournalRecord[]> {
  const bytes = await readFile(segment.path);
  const { records, goodBytes } = scanRecords(bytes);
  if (goodBytes < bytes.length) {
    logger.warn(
      { segment: segment.path, goodBytes, droppedBytes: bytes.length - goodBytes },
      "bus journal: torn or corrupt tail ignored and cut off",
    );
    const handle = await open(segment.path, "r+");
    try {
      await handle.truncate(goodBytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
  return records;
}

/** Deletes segments (already superseded by a newer one holding their live entries). */
export async function removeSegments(segments: SegmentName[]): Promise<void> {
  for (const s of segments) await rm(s.path, { force: true });
}

/**
 * fsyncs the directory itself, so a created or deleted file name is durable:
 * without it a power loss could bring back deleted segments or lose a new one
 * whose data was synced.
 */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
