import { describe, expect, it } from "vitest";
import { formatListing } from "./format.js";

describe("formatListing", () => {
  it("prints one aligned line per entry, like hdfs dfs -ls", () => {
    const t = new Date("2026-11-28T10:20:00Z");
    expect(
      formatListing([
        { path: "/d", type: "directory", size: 0, replication: 0, chunkSize: 0, chunkCount: 0, modificationTime: t, attributes: {} },
        { path: "/f", type: "file", size: 12345, replication: 3, chunkSize: 1024, chunkCount: 13, modificationTime: t, attributes: {} },
      ]),
    ).toBe("d  -     0 2026-11-28 10:20 /d\n-  3 12345 2026-11-28 10:20 /f");
  });
});
