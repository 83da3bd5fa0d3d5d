import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { PieceChecksums, encodeMeta, parseMeta, wholeChecksum } from "./chunk-meta.js";

describe("chunk metadata", () => {
  it("computes one CRC-32 per piece whatever the sizes of the parts fed in", () => {
    const data = randomBytes(10_000);
    const pieces = new PieceChecksums(4096);
    for (let i = 0; i < data.length; i += 777) pieces.update(data.subarray(i, i + 777));
    expect(pieces.finish()).toEqual([0, 4096, 8192].map((at) => crc32(data.subarray(at, at + 4096)) >>> 0));
    expect(new PieceChecksums(4096).finish()).toEqual([]);
  });

  it("folds the pieces' CRC-32s into the whole chunk's, as computed over the bytes", () => {
    for (const size of [0, 1, 4095, 4096, 10_000, 3 * 4096]) {
      const data = randomBytes(size);
      const pieces = new PieceChecksums(4096);
      pieces.update(data);
      expect(wholeChecksum(pieces.finish(), 4096, size)).toBe(crc32(data) >>> 0);
    }
  });

  it("round-trips, and refuses garbled or inconsistent files", () => {
    const meta = { length: 5, checksum: 9, pieceSize: 4, pieces: [1, 2] };
    expect(parseMeta(encodeMeta(meta))).toEqual(meta);
    expect(parseMeta(encodeMeta(meta).slice(0, 20))).toBeUndefined();
    expect(parseMeta(encodeMeta({ ...meta, pieces: [1] }))).toBeUndefined();
    expect(parseMeta(JSON.stringify({ ...meta, version: 2 }))).toBeUndefined();
  });
});
