import CRC32 from "crc-32";

/**
 * CRC-32 with the zlib (IEEE 802.3) polynomial, as node:zlib's crc32
 * computes it, in plain JavaScript for browsers (Node code uses zlib's,
 * about ten times faster: @trainfs/node's checksum.ts). `seed` is the value
 * so far, so a chunk can be checked part by part.
 */
export function crc32Update(data: Uint8Array, seed = 0): number {
  return CRC32.buf(data, seed | 0) >>> 0;
}

export function formatChecksum(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}

/**
 * CRC-32 of A followed by B from crc(A), crc(B) and B's length, without the
 * bytes (zlib's crc32_combine, which Node does not expose): a chunk's
 * whole checksum follows from its per-piece checksums, so the bytes are
 * read once, not twice. "Append n zero bytes" is a 32×32 bit matrix over
 * GF(2); the matrices for 1, 2, 4, … 2^52 bytes are built once, and a
 * combine applies those of n's set bits (at most 53 steps of 32, whatever n:
 * a cache by length missed on every file of a directory of varied sizes).
 */
export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  if (length2 <= 0) return crc1 >>> 0;
  let crc = crc1 >>> 0;
  for (let k = 0, n = length2; n > 0; k++, n = Math.floor(n / 2)) if (n % 2 === 1) crc = gf2Times(zeroBytesPower(k), crc);
  return (crc ^ crc2) >>> 0;
}

/** ZERO_BYTES[k]: the operator appending 2^k zero bytes, built as far as asked. */
const ZERO_BYTES: Uint32Array[] = [];

function zeroBytesPower(k: number): Uint32Array {
  if (ZERO_BYTES.length === 0) {
    const bit = new Uint32Array(32);
    bit[0] = 0xedb88320; // the reversed CRC-32 polynomial: the operator for one zero bit
    for (let n = 1, row = 1; n < 32; n++, row <<= 1) bit[n] = row;
    // One zero byte is eight zero bits: the one-bit operator squared three times.
    let op: Uint32Array = bit;
    for (let i = 0; i < 3; i++) op = gf2Square(op);
    ZERO_BYTES.push(op);
  }
  while (ZERO_BYTES.length <= k) ZERO_BYTES.push(gf2Square(ZERO_BYTES[ZERO_BYTES.length - 1]!));
  return ZERO_BYTES[k]!;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0, v = vec >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function gf2Square(mat: Uint32Array): Uint32Array {
  const square = new Uint32Array(32);
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
  return square;
}
