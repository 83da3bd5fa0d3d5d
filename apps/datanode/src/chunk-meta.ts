import { crc32 } from "node:zlib";
import { crc32Combine } from "@trainfs/common";

/**
 * A chunk's metadata file (`<chunk id>.meta`, JSON): its length, its whole
 * CRC-32, and one CRC-32 per 64 KiB piece, like HDFS's `.meta` beside each
 * block. Pieces let a range read verify only what it touches, and let the
 * reader check what it received.
 */
export const PIECE_BYTES = 64 * 1024;

export interface ChunkMeta {
  length: number;
  checksum: number;
  pieceSize: number;
  pieces: number[];
}

/** Per-piece CRC-32s of a stream of bytes, fed in parts of any size. */
export class PieceChecksums {
  private readonly done: number[] = [];
  private current = 0;
  private filled = 0;

  constructor(private readonly pieceSize = PIECE_BYTES) {}

  update(data: Uint8Array): void {
    let at = 0;
    while (at < data.byteLength) {
      const take = Math.min(this.pieceSize - this.filled, data.byteLength - at);
      this.current = crc32(data.subarray(at, at + take), this.current);
      this.filled += take;
      at += take;
      if (this.filled === this.pieceSize) {
        this.done.push(this.current >>> 0);
        this.current = 0;
        this.filled = 0;
      }
    }
  }

  finish(): number[] {
    return this.filled > 0 ? [...this.done, this.current >>> 0] : [...this.done];
  }
}

/** The CRC-32 of the whole chunk, folded from its pieces' CRC-32s (no second pass over the bytes). */
export function wholeChecksum(pieces: readonly number[], pieceSize: number, length: number): number {
  let whole = 0;
  pieces.forEach((piece, i) => {
    whole = crc32Combine(whole, piece, Math.min(pieceSize, length - i * pieceSize));
  });
  return whole;
}

export function encodeMeta(meta: ChunkMeta): string {
  return JSON.stringify({ version: 1, ...meta });
}

/** Parses a metadata file; undefined when it is not one (truncated, garbled). */
export function parseMeta(text: string): ChunkMeta | undefined {
  try {
    const m = JSON.parse(text) as Partial<ChunkMeta> & { version?: number };
    const ok =
      m.version === 1 &&
      Number.isSafeInteger(m.length) && m.length! >= 0 &&
      Number.isInteger(m.checksum) &&
      Number.isInteger(m.pieceSize) && m.pieceSize! > 0 &&
      Array.isArray(m.pieces) && m.pieces.length === Math.ceil(m.length! / m.pieceSize!);
    return ok ? { length: m.length!, checksum: m.checksum!, pieceSize: m.pieceSize!, pieces: m.pieces! } : undefined;
  } catch {
    return undefined;
  }
}
