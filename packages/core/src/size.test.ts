import { describe, expect, it } from "vitest";
import { formatSize, parseSize, safeNumber } from "./size.js";

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
