import { describe, expect, it } from "vitest";
import { baseName, joinPath, validatePath } from "./path.js";
import { TrainfsError } from "./errors.js";

describe("validatePath", () => {
  it("splits valid absolute paths into segments", () => {
    expect(validatePath("/")).toEqual([]);
    expect(validatePath("/a")).toEqual(["a"]);
    expect(validatePath("/a/b c/ü.txt")).toEqual(["a", "b c", "ü.txt"]);
    expect(validatePath("/.hidden/..x")).toEqual([".hidden", "..x"]);
  });

  it.each([
    ["", "empty"],
    ["a/b", "absolute"],
    ["/a/", "end with"],
    ["/a//b", "empty segment"],
    ["/a/./b", "'.'"],
    ["/a/../b", "'..'"],
    ["/a\0b", "NUL"],
    [`/${"x".repeat(256)}`, "255"],
    [`/${"é".repeat(128)}`, "255"], // 256 bytes of UTF-8
    [`/${Array.from({ length: 20 }, () => "y".repeat(250)).join("/")}`, "4096"],
  ])("rejects %j with InvalidArgument (%s)", (path, why) => {
    const err = (() => {
      try {
        validatePath(path);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TrainfsError);
    expect((err as TrainfsError).code).toBe("invalid_argument");
    expect((err as TrainfsError).message).toContain(why);
  });

  it("accepts segments of exactly 255 bytes", () => {
    expect(validatePath(`/${"x".repeat(255)}`)).toHaveLength(1);
  });
});

describe("path helpers", () => {
  it("joins paths and takes base names", () => {
    expect(joinPath("/", "a")).toBe("/a");
    expect(joinPath("/a", "b")).toBe("/a/b");
    expect(baseName("/a/b")).toBe("b");
  });
});
