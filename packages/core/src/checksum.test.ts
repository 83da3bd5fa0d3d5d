import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32Combine, crc32Update, formatChecksum } from "./checksum.js";

describe("crc32Update", () => {
  it("matches the well-known CRC-32 of '123456789', in one piece or part by part", () => {
    const data = new TextEncoder().encode("123456789");
    expect(crc32Update(data)).toBe(0xcbf43926);
    expect(crc32Update(data.subarray(4), crc32Update(data.subarray(0, 4)))).toBe(0xcbf43926);
    expect(formatChecksum(0xcbf43926)).toBe("cbf43926");
  });

  it("agrees with node:zlib's crc32 on the servers", () => {
    const data = crypto.getRandomValues(new Uint8Array(65_536));
    expect(crc32Update(data)).toBe(crc32(data) >>> 0);
    expect(crc32Combine(crc32Update(data.subarray(0, 1000)), crc32Update(data.subarray(1000)), data.length - 1000)).toBe(crc32(data) >>> 0);
  });

  it("combines at every split of a buffer and across lengths of many sizes, as zlib's crc32 of the whole", () => {
    const data = crypto.getRandomValues(new Uint8Array(3000));
    for (let split = 0; split <= data.length; split += split < 70 ? 1 : 97) {
      const whole = crc32Combine(crc32(data.subarray(0, split)) >>> 0, crc32(data.subarray(split)) >>> 0, data.length - split);
      expect(whole, `split at ${split}`).toBe(crc32(data) >>> 0);
    }
    // A long run of zero bytes after a prefix: lengths with many set bits and past 2^26.
    const prefix = data.subarray(0, 100);
    for (const n of [65_535, 65_537, 1_000_003, (1 << 26) + 12_345]) {
      const zeros = new Uint8Array(n);
      expect(crc32Combine(crc32(prefix) >>> 0, crc32(zeros) >>> 0, n), `${n} zero bytes`).toBe(crc32(Buffer.concat([prefix, zeros])) >>> 0);
    }
  });
});
