import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Crc32, crc32Of, formatChecksum } from "./checksum.js";

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
