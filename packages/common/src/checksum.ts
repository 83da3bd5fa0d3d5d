import { crc32 } from "node:zlib";

/**
 * Incremental CRC-32 (zlib polynomial). Node's zlib.crc32 is fast enough
 * for a chunk to be checked on every hop.
 */
export class Crc32 {
  private value = 0;
  private bytes = 0;

  update(data: Uint8Array): this {
    this.value = crc32(data, this.value);
    this.bytes += data.byteLength;
    return this;
  }

  digest(): number {
    return this.value >>> 0;
  }

  get length(): number {
    return this.bytes;
  }
}

export function crc32Of(data: Uint8Array): number {
  return crc32(data) >>> 0;
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
