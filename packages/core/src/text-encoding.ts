import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** Longer strings go to TextEncoder, whose fixed cost per call is then small beside the copy. */
const SHORT = 128;

let installed = false;

/**
 * UTF-8 for protobuf-es's string fields, with short ASCII strings (paths,
 * chunk ids, addresses, attribute names) copied byte for byte in JS and
 * everything else left to TextEncoder. TextEncoder.encode costs about 0.5 µs
 * a call on this machine whatever the length, which made a third of the
 * NameNode's time encoding a 1,000-entry listing (docs/performance.md, round
 * 12). The bytes are TextEncoder's in every case (a string with any
 * character above U+007F, lone surrogates included, is encoded by it).
 * protobuf-es reads the encoder from a global; installing it again is a no-op.
 */
export function useFastUtf8Encoder(): void {
  if (installed) return;
  installed = true;
  const base = getTextEncoding();
  const encoder = new TextEncoder();
  configureTextEncoding({
    checkUtf8: base.checkUtf8,
    decodeUtf8: base.decodeUtf8,
    encodeUtf8: (text: string) => encodeUtf8(text, encoder),
  });
}

/** TextEncoder's bytes for `text`, without its call for short ASCII. */
export function encodeUtf8(text: string, encoder: TextEncoder): Uint8Array<ArrayBuffer> {
  const n = text.length;
  if (n > SHORT) return encoder.encode(text);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(text);
    out[i] = c;
  }
  return out;
}
