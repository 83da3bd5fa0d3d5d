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
 * read once, not twice. The operator "append n zero bytes" is a 32×32 bit
 * matrix over GF(2); it is built once per length and cached, after which a
 * combine costs 32 steps.
 */
export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  if (length2 <= 0) return crc1 >>> 0;
  return (gf2Times(zeroBytesOperator(length2), crc1) ^ crc2) >>> 0;
}

const operators = new Map<number, Uint32Array>();

function zeroBytesOperator(length: number): Uint32Array {
  let op = operators.get(length);
  if (!op) {
    op = new Uint32Array(32);
    for (let bit = 0; bit < 32; bit++) op[bit] = shiftByZeros((1 << bit) >>> 0, length);
    if (operators.size > 64) operators.clear();
    operators.set(length, op);
  }
  return op;
}

/** zlib's crc32_combine with crc2 = 0: `crc` advanced over `length` zero bytes. */
function shiftByZeros(crc: number, length: number): number {
  const odd = new Uint32Array(32);
  const even = new Uint32Array(32);
  odd[0] = 0xedb88320; // the reversed CRC-32 polynomial: the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let len = length;
  do {
    gf2Square(even, odd);
    if (len & 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len & 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return crc >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0, v = vec >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}
