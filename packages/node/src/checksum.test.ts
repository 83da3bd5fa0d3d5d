import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crc32Combine, formatChecksum } from "@trainfs/core";
import { Crc32, crc32Of } from "./checksum.js";

describe("Crc32", () => {
  it("matches the well-known CRC-32 of '123456789'", () => {
    expect(crc32Of(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(formatChecksum(0xcbf43926)).toBe("cbf43926");
  });

  it("gives the same digest incrementally as in one piece", () => {
    const data = randomBytes(300_000);
    const crc = new Crc32();
    for (let i = 0; i < data.length; i += 65_536) crc.update(data.subarray(i, i + 65_536));
    expect(crc.digest()).toBe(crc32Of(data));
    expect(crc.length).toBe(data.length);
  });
});

describe("crc32Combine", () => {
  it("gives the CRC-32 of the concatenation, as zlib computes it over the bytes", () => {
    for (const [a, b] of [[0, 5], [1, 1], [7, 65_536], [65_536, 65_536], [100_000, 12_345], [3, 0]] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      expect(crc32Combine(crc32Of(x), crc32Of(y), b)).toBe(crc32Of(Buffer.concat([x, y])));
    }
  });

  it("folds per-piece checksums into the whole one", () => {
    const data = randomBytes(5 * 65_536 + 777);
    let whole = 0;
    for (let at = 0; at < data.length; at += 65_536) {
      const piece = data.subarray(at, at + 65_536);
      whole = crc32Combine(whole, crc32Of(piece), piece.length);
    }
    expect(whole).toBe(crc32Of(data));
  });
});
