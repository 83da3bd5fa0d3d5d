import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { PieceChecksums, encodeMeta, parseMeta } from "./chunk-meta.js";

describe("chunk metadata", () => {
  it("computes one CRC-32 per piece whatever the sizes of the parts fed in", () => {
    const data = randomBytes(10_000);
    const pieces = new PieceChecksums(4096);
    for (let i = 0; i < data.length; i += 777) pieces.update(data.subarray(i, i + 777));
    expect(pieces.finish()).toEqual([0, 4096, 8192].map((at) => crc32(data.subarray(at, at + 4096)) >>> 0));
    expect(new PieceChecksums(4096).finish()).toEqual([]);
  });

  it("round-trips, and refuses garbled or inconsistent files", () => {
    const meta = { length: 5, checksum: 9, pieceSize: 4, pieces: [1, 2] };
    expect(parseMeta(encodeMeta(meta))).toEqual(meta);
    expect(parseMeta(encodeMeta(meta).slice(0, 20))).toBeUndefined();
    expect(parseMeta(encodeMeta({ ...meta, pieces: [1] }))).toBeUndefined();
    expect(parseMeta(JSON.stringify({ ...meta, version: 2 }))).toBeUndefined();
  });
});
