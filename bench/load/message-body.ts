import { ClientError } from "../../sdk/index.js";

/** What every benchmark message carries, so receivers can check it without shared state. */
export interface BodyFields {
  /** Run id: messages of another run are ignored. */
  r: string;
  /** Pair (P2P) or sender index. */
  p: number;
  /** Sequence number within the pair or run. */
  n: number;
  /** Scheduled send time, epoch ms (bench/lib/clock.ts). */
  t: number;
}

/** The message body: the fields as JSON, padded with `x` to about `bytes` characters. */
export function makeBody(fields: BodyFields, bytes: number): string {
  const json = JSON.stringify(fields);
  const pad = bytes - json.length - 8;
  return pad > 0 ? `${json.slice(0, -1)},"x":"${"x".repeat(pad)}"}` : json;
}

/** The fields of a benchmark body; undefined for anything else. */
export function readBody(body: string): BodyFields | undefined {
  if (!body.startsWith('{"r":')) return undefined;
  try {
    const v = JSON.parse(body) as Partial<BodyFields>;
    if (
      typeof v.r !== "string" ||
      typeof v.p !== "number" ||
      typeof v.n !== "number" ||
      typeof v.t !== "number"
    ) {
      return undefined;
    }
    return v as BodyFields;
  } catch {
    return undefined;
  }
}

/** A failure as a short key for counting: `refused:<code>`, `unknown`, `closed`, …. */
export function failureKey(error: unknown): string {
  if (error instanceof ClientError)
    return error.code === undefined ? error.reason : `${error.reason}:${error.code}`;
  return error instanceof Error ? error.message.slice(0, 60) : String(error);
}
