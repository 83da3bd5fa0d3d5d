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
});
