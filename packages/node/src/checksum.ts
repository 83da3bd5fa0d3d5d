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
