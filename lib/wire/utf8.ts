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
