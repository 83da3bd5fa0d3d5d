import CRC32 from "crc-32";

/**
 * CRC-32 with the zlib (IEEE 802.3) polynomial, as node:zlib's crc32
 * computes it on the servers, in plain JavaScript for browsers. `seed` is
 * the value so far, so a chunk can be checked part by part.
 */
export function crc32Update(data: Uint8Array, seed = 0): number {
  return CRC32.buf(data, seed | 0) >>> 0;
}
