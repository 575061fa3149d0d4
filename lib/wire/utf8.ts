/** Shared UTF-8 codecs: one instance each, since constructing them per frame is wasted work. */

const encoder = new TextEncoder();
// fatal: true makes malformed input throw instead of turning into U+FFFD, so a bad imei or body is
// refused rather than silently rewritten.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `text`. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Text of `bytes`; throws a TypeError when they are not valid UTF-8. */
export function utf8DecodeStrict(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/**
 * Writes the UTF-8 of `text` at the start of `target` (exactly the bytes utf8Encode gives);
 * returns how many bytes were written. `target` must have room for them: 3 bytes per UTF-16 unit
 * always suffice.
 */
export function utf8EncodeInto(text: string, target: Uint8Array): number {
  return encoder.encodeInto(text, target).written;
}
