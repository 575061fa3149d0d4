import { SERVER_HEADER_BYTES, ServerHeaderOffset } from "./constants.js";
import { FrameError } from "./frame-error.js";
import { allocFrame, joinFrame } from "./frame-memory.js";
import { writeInt32 } from "./int32.js";

/**
 * One server→client frame (spec §2.2, §2.3): a command and its payload bytes. For JSON connections
 * the payload is `data` JSON (TCP) or the whole MessagePack JSON (WebSocket); for Protobuf
 * connections it is the Protobuf encoding of the command's payload message (payloads.ts).
 */
export interface ServerFrame {
  /** Command code (spec §3). */
  command: number;
  /** Payload bytes. */
  payload: Uint8Array;
}

/**
 * Encodes `command(int32) + length(int32) + payload`, the only server→client layout (spec §2.2).
 * Like every server frame encoder here, the result may be a view into a shared slab
 * (frame-memory.ts): read it through its `byteOffset`.
 */
export function encodeServerFrame(command: number, payload: Uint8Array): Uint8Array {
  const out = allocFrame(SERVER_HEADER_BYTES + payload.length);
  out.set(payload, SERVER_HEADER_BYTES);
  return writeServerHeader(out, command);
}

/**
 * encodeServerFrame for a payload given as text (its UTF-8 is the payload), encoded straight into
 * the frame: the per-frame path of the gateway's JSON answers.
 */
export function encodeServerFrameText(command: number, payload: string): Uint8Array {
  return writeServerHeader(joinFrame(SERVER_HEADER_BYTES, [payload]), command);
}

/**
 * Fills the first SERVER_HEADER_BYTES of `frame` (allocated with room for them) with `command` and
 * the length of what follows; returns `frame`. Written byte by byte rather than through a DataView,
 * which would be one more object per frame; the result is the same big-endian int32 (values wrap
 * as DataView.setInt32 wraps them).
 */
export function writeServerHeader(frame: Uint8Array, command: number): Uint8Array {
  writeInt32(frame, ServerHeaderOffset.COMMAND, command);
  writeInt32(frame, ServerHeaderOffset.LENGTH, frame.length - SERVER_HEADER_BYTES);
  return frame;
}

/** Reads and checks the length field of the 8-byte server header at `offset`. */
function readLength(bytes: Uint8Array, offset: number, maxFrameBytes: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, SERVER_HEADER_BYTES);
  const length = view.getInt32(ServerHeaderOffset.LENGTH);
  if (length < 0) throw new FrameError("negative-length", `length ${length}`);
  if (length > maxFrameBytes) throw new FrameError("frame-too-large", `${length} > ${maxFrameBytes}`);
  return length;
}

function readCommand(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, SERVER_HEADER_BYTES).getInt32(
    ServerHeaderOffset.COMMAND,
  );
}

/**
 * Decodes one WebSocket binary message holding exactly one server frame (spec §2.3). Throws
 * FrameError (`truncated`, `trailing-bytes`, `negative-length`, `frame-too-large`). The payload is a
 * view of `bytes`.
 */
export function decodeServerFrame(bytes: Uint8Array, maxFrameBytes: number): ServerFrame {
  if (bytes.length < SERVER_HEADER_BYTES) throw new FrameError("truncated", `${bytes.length} bytes`);
  const length = readLength(bytes, 0, maxFrameBytes);
  const expected = SERVER_HEADER_BYTES + length;
  if (bytes.length < expected) throw new FrameError("truncated", `${bytes.length} of ${expected} bytes`);
  if (bytes.length > expected) throw new FrameError("trailing-bytes", `${bytes.length} > ${expected} bytes`);
  return { command: readCommand(bytes, 0), payload: bytes.subarray(SERVER_HEADER_BYTES) };
}

/**
 * Streaming decoder of server→client frames on a TCP connection (the client side of spec §2.2).
 *
 * Same contract as ClientFrameDecoder: any split of the stream is accepted; the length is checked
 * against `maxFrameBytes` before the payload is allocated, so held bytes never exceed
 * `SERVER_HEADER_BYTES + maxFrameBytes`; a bad frame throws FrameError and fails the decoder for
 * good; returned payloads own their bytes.
 */
export class ServerFrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #header = new Uint8Array(SERVER_HEADER_BYTES);
  #headerFill = 0;
  #command: number | undefined;
  #payload: Uint8Array = new Uint8Array(0);
  #payloadFill = 0;
  #failure: FrameError | undefined;

  constructor(options: { maxFrameBytes: number }) {
    if (!Number.isInteger(options.maxFrameBytes) || options.maxFrameBytes < 0) {
      throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${options.maxFrameBytes}`);
    }
    this.#maxFrameBytes = options.maxFrameBytes;
  }

  /** Bytes received and held for a frame not yet complete; at most SERVER_HEADER_BYTES + maxFrameBytes. */
  get bufferedBytes(): number {
    return this.#command === undefined ? this.#headerFill : SERVER_HEADER_BYTES + this.#payloadFill;
  }

  /** Feeds the next bytes of the stream; returns the frames they complete. Throws FrameError. */
  push(chunk: Uint8Array): ServerFrame[] {
    if (this.#failure !== undefined) throw new FrameError("decoder-failed", this.#failure.reason);
    try {
      return this.#consume(chunk);
    } catch (error) {
      this.#failure = error instanceof FrameError ? error : new FrameError("decoder-failed", String(error));
      this.#command = undefined;
      this.#payload = new Uint8Array(0);
      throw this.#failure;
    }
  }

  #consume(chunk: Uint8Array): ServerFrame[] {
    const frames: ServerFrame[] = [];
    let offset = 0;
    for (;;) {
      if (this.#command === undefined) {
        if (offset === chunk.length) break;
        if (this.#headerFill === 0 && chunk.length - offset >= SERVER_HEADER_BYTES) {
          this.#begin(chunk, offset);
          offset += SERVER_HEADER_BYTES;
        } else {
          const take = Math.min(SERVER_HEADER_BYTES - this.#headerFill, chunk.length - offset);
          this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
          this.#headerFill += take;
          offset += take;
          if (this.#headerFill < SERVER_HEADER_BYTES) break;
          this.#headerFill = 0;
          this.#begin(this.#header, 0);
        }
      }
      const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - offset);
      this.#payload.set(chunk.subarray(offset, offset + take), this.#payloadFill);
      this.#payloadFill += take;
      offset += take;
      if (this.#payloadFill < this.#payload.length) break;
      frames.push({ command: this.#command as number, payload: this.#payload });
      this.#command = undefined;
    }
    return frames;
  }

  #begin(bytes: Uint8Array, offset: number): void {
    const length = readLength(bytes, offset, this.#maxFrameBytes);
    this.#command = readCommand(bytes, offset);
    this.#payload = new Uint8Array(length);
    this.#payloadFill = 0;
  }
}
