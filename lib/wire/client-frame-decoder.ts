import type { ClientFrame } from "./client-frame.js";
import { HEADER_BYTES, HeaderOffset, MAX_IMEI_BYTES, MessageEncoding } from "./constants.js";
import { FrameError } from "./frame-error.js";
import { allocFrame } from "./frame-memory.js";
import { readInt32 } from "./int32.js";
import { utf8DecodeStrict } from "./utf8.js";

/** Options of the client frame decoders. */
export interface ClientFrameDecoderOptions {
  /**
   * Largest accepted `imeiLength + bodyLength`, in bytes (the header is not counted). Checked when
   * the header is read, before anything is allocated.
   */
  maxFrameBytes: number;
}

/** The header fields of a client frame, lengths still unresolved. */
interface ClientHeader {
  command: number;
  version: number;
  clientType: number;
  messageType: number;
  appId: number;
  imeiLength: number;
  bodyLength: number;
}

/** Reads and validates the 28-byte header at `offset` of `bytes`; throws FrameError on bad lengths. */
function readHeader(bytes: Uint8Array, offset: number, maxFrameBytes: number): ClientHeader {
  const header: ClientHeader = {
    command: readInt32(bytes, offset + HeaderOffset.COMMAND),
    version: readInt32(bytes, offset + HeaderOffset.VERSION),
    clientType: readInt32(bytes, offset + HeaderOffset.CLIENT_TYPE),
    messageType: readInt32(bytes, offset + HeaderOffset.MESSAGE_TYPE),
    appId: readInt32(bytes, offset + HeaderOffset.APP_ID),
    imeiLength: readInt32(bytes, offset + HeaderOffset.IMEI_LENGTH),
    bodyLength: readInt32(bytes, offset + HeaderOffset.BODY_LENGTH),
  };
  // The original let a negative length throw deep inside Netty (spec §2.1); here it is a clean
  // refusal before any allocation.
  if (header.imeiLength < 0 || header.bodyLength < 0) {
    throw new FrameError(
      "negative-length",
      `imeiLength ${header.imeiLength}, bodyLength ${header.bodyLength}`,
    );
  }
  if (header.imeiLength > MAX_IMEI_BYTES) {
    throw new FrameError("imei-too-long", `${header.imeiLength} > ${MAX_IMEI_BYTES}`);
  }
  const total = header.imeiLength + header.bodyLength;
  if (total > maxFrameBytes) {
    throw new FrameError("frame-too-large", `${total} > ${maxFrameBytes}`);
  }
  return header;
}

/** Builds the frame from its header and its `imei + body` bytes. */
function toFrame(header: ClientHeader, payload: Uint8Array): ClientFrame {
  let imei: string;
  try {
    imei = utf8DecodeStrict(payload.subarray(0, header.imeiLength));
  } catch {
    throw new FrameError("bad-imei");
  }
  const body = payload.subarray(header.imeiLength);
  const frame: ClientFrame = {
    command: header.command,
    version: header.version,
    clientType: header.clientType,
    messageType: header.messageType,
    appId: header.appId,
    imei,
    body,
  };
  if (header.messageType === MessageEncoding.JSON) {
    const padding = trailingNuls(body);
    if (padding > 0) {
      frame.body = body.subarray(0, body.length - padding);
      frame.nulPadding = padding;
    }
  }
  return frame;
}

/**
 * NUL bytes at the end of a JSON body. The original's browser clients announced a body length that
 * counted every non-ASCII character as 3 bytes and filled the difference with NULs; its JSON parser
 * skipped them (issue 14). JSON text never ends in a raw NUL (inside a string it must be escaped),
 * so removing them accepts exactly "a complete JSON body followed by NUL padding": an incomplete
 * body or other trailing bytes stay invalid JSON and are refused as before.
 */
function trailingNuls(body: Uint8Array): number {
  let end = body.length;
  while (end > 0 && body[end - 1] === 0) end--;
  return body.length - end;
}

/**
 * Streaming decoder of client→server frames for one TCP connection (spec §2.1).
 *
 * Contract:
 * - `push` accepts any split of the byte stream and returns the frames completed by this chunk, in
 *   order. It waits for the 28 header bytes and then for imei + body however the bytes arrive
 *   (fixes D20, where fewer than 28 buffered bytes closed the connection).
 * - Lengths are checked against `maxFrameBytes` as soon as the header is complete, before the
 *   payload is allocated; held bytes never exceed `HEADER_BYTES + maxFrameBytes`.
 * - On a bad frame `push` throws FrameError, the only error it throws. The decoder is then failed
 *   for good (the stream is out of step): the caller closes the connection, and frames completed
 *   earlier in the same chunk are discarded with it.
 * - Returned frames own their bytes: nothing refers to the pushed chunk afterwards.
 */
export class ClientFrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #header = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  #pending: ClientHeader | undefined;
  #payload: Uint8Array = new Uint8Array(0);
  #payloadFill = 0;
  #failure: FrameError | undefined;

  constructor(options: ClientFrameDecoderOptions) {
    if (!Number.isInteger(options.maxFrameBytes) || options.maxFrameBytes < 0) {
      throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${options.maxFrameBytes}`);
    }
    this.#maxFrameBytes = options.maxFrameBytes;
  }

  /** Bytes received and held for a frame not yet complete; at most HEADER_BYTES + maxFrameBytes. */
  get bufferedBytes(): number {
    return this.#pending === undefined ? this.#headerFill : HEADER_BYTES + this.#payloadFill;
  }

  /** Feeds the next bytes of the stream; returns the frames they complete. Throws FrameError. */
  push(chunk: Uint8Array): ClientFrame[] {
    if (this.#failure !== undefined) throw new FrameError("decoder-failed", this.#failure.reason);
    try {
      return this.#consume(chunk);
    } catch (error) {
      this.#failure = error instanceof FrameError ? error : new FrameError("decoder-failed", String(error));
      this.#pending = undefined;
      this.#payload = new Uint8Array(0);
      throw this.#failure;
    }
  }

  #consume(chunk: Uint8Array): ClientFrame[] {
    const frames: ClientFrame[] = [];
    let offset = 0;
    for (;;) {
      if (this.#pending === undefined) {
        if (offset === chunk.length) break;
        if (this.#headerFill === 0 && chunk.length - offset >= HEADER_BYTES) {
          // Whole header in this chunk: read it in place instead of copying.
          this.#begin(readHeader(chunk, offset, this.#maxFrameBytes));
          offset += HEADER_BYTES;
        } else {
          const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - offset);
          this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
          this.#headerFill += take;
          offset += take;
          if (this.#headerFill < HEADER_BYTES) break;
          this.#headerFill = 0;
          this.#begin(readHeader(this.#header, 0, this.#maxFrameBytes));
        }
      }
      const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - offset);
      this.#payload.set(chunk.subarray(offset, offset + take), this.#payloadFill);
      this.#payloadFill += take;
      offset += take;
      if (this.#payloadFill < this.#payload.length) break;
      const header = this.#pending as ClientHeader;
      this.#pending = undefined;
      frames.push(toFrame(header, this.#payload));
    }
    return frames;
  }

  #begin(header: ClientHeader): void {
    this.#pending = header;
    // From the frame slab (frame-memory.ts): a fresh array per frame is an off-heap allocation.
    this.#payload = allocFrame(header.imeiLength + header.bodyLength);
    this.#payloadFill = 0;
  }
}

/**
 * Decodes one WebSocket binary message, which must hold exactly one client frame (spec §2.3).
 * Throws FrameError: `truncated` when shorter than its header or lengths (the original dropped such
 * frames silently), `trailing-bytes` when longer, or a header reason. The body is a view of `bytes`.
 */
export function decodeClientFrame(bytes: Uint8Array, maxFrameBytes: number): ClientFrame {
  if (bytes.length < HEADER_BYTES) throw new FrameError("truncated", `${bytes.length} bytes`);
  const header = readHeader(bytes, 0, maxFrameBytes);
  const expected = HEADER_BYTES + header.imeiLength + header.bodyLength;
  if (bytes.length < expected) throw new FrameError("truncated", `${bytes.length} of ${expected} bytes`);
  if (bytes.length > expected) throw new FrameError("trailing-bytes", `${bytes.length} > ${expected} bytes`);
  return toFrame(header, bytes.subarray(HEADER_BYTES));
}
