import { describe, expect, it } from "vitest";
import { formatExactSize, formatSize, parseSize, safeNumber } from "./size.js";

describe("parseSize", () => {
  it("parses plain numbers and binary units", () => {
    expect(parseSize("65536")).toBe(65536);
    expect(parseSize("64MiB")).toBe(64 * 1024 * 1024);
    expect(parseSize("64m")).toBe(64 * 1024 * 1024);
    expect(parseSize("1.5 GiB")).toBe(1.5 * 1024 ** 3);
    expect(parseSize(42)).toBe(42);
  });

  it("rejects nonsense with InvalidArgument", () => {
    expect(() => parseSize("12 parsecs")).toThrow(/invalid size/);
    expect(() => parseSize("-1")).toThrow(/invalid size/);
  });

  it("formats sizes for people", () => {
    expect(formatSize(512)).toBe("512 B");
    expect(formatSize(200_000_000)).toBe("190.7 MiB");
  });

  it("refuses uint64 values a number cannot hold", () => {
    expect(safeNumber(5n, "size")).toBe(5);
    expect(() => safeNumber(2n ** 60n, "size")).toThrow(/size is too large/);
  });
});

describe("formatExactSize", () => {
  it("writes sizes as a setting takes them, in the largest exact unit", () => {
    expect(formatExactSize(64 * 1024 * 1024)).toBe("64MiB");
    expect(formatExactSize(1024)).toBe("1KiB");
    expect(formatExactSize(1536)).toBe("1536");
    expect(formatExactSize(3 * 1024 ** 4)).toBe("3TiB");
    expect(formatExactSize(1000)).toBe("1000");
    expect(formatExactSize(0)).toBe("0");
    expect(parseSize(formatExactSize(1024 ** 3))).toBe(1024 ** 3);
  });
});
