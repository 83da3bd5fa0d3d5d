import { describe, expect, it } from "vitest";
import { TrainfsError, crc32Update } from "@trainfs/core";
import { describeError } from "./errors.js";
import { sortEntries } from "./file-browser.js";
import { fileChecksum } from "./file-view.js";
import { rateAndEta } from "./transfers.js";

describe("the console's words for errors", () => {
  it("says the NameNode cannot be reached instead of the browser's 'Failed to fetch'", () => {
    const d = describeError(new TrainfsError("unavailable", "Failed to fetch"), "reading the cluster's state");
    expect(d.unreachable).toBe(true);
    expect(d.text).toMatch(/^The NameNode cannot be reached/);
    expect(d.text).not.toMatch(/Failed to fetch/);
  });

  it("points at the token field, not at CLI flags, when a token is missing or wrong", () => {
    const missing = describeError(new TrainfsError("unauthenticated", "this NameNode requires an API token: pass --token or set TRAINFS_TOKEN"), undefined, false);
    expect(missing).toMatchObject({ needsToken: true });
    expect(missing.text).toMatch(/API token field at the top right/);
    expect(missing.text).not.toMatch(/--token|TRAINFS_TOKEN/);
    expect(describeError(new TrainfsError("unauthenticated", "the token is not valid for this cluster"), undefined, true).text).toMatch(/not valid for this cluster/);
  });

  it("names the action a read-only token cannot do, and keeps other refusals' own message", () => {
    const ro = new TrainfsError("permission_denied", "the token is read-only; DecommissionDataNode changes the file system or the cluster and needs a read-write token");
    expect(describeError(ro, "decommissioning http://127.0.0.1:9867").text).toBe("Your token is read-only: decommissioning http://127.0.0.1:9867 needs a read-write token.");
    expect(describeError(new TrainfsError("not_found", "/x: no such file or directory"), "deleting /x").text).toBe("Could not finish deleting /x: /x: no such file or directory");
    expect(describeError(new DOMException("x", "AbortError"), "uploading /a").text).toBe("Cancelled uploading /a.");
  });
});

describe("transfer rates", () => {
  it("takes the rate over the recent samples and the time left at that rate", () => {
    expect(rateAndEta([[0, 0], [1000, 1_000_000], [2000, 3_000_000]], 3_000_000, 9_000_000)).toEqual({ rate: 1_500_000, etaSeconds: 4 });
    expect(Number.isNaN(rateAndEta([[0, 0]], 0, 10).etaSeconds)).toBe(true);
  });
});

describe("the file listing", () => {
  const f = (path: string, type: "file" | "directory", size: number, replication: number, t: number) =>
    ({ path, type, size, replication, chunkSize: 0, chunkCount: 0, modificationTime: new Date(t), attributes: {} });
  it("sorts directories first, then by the chosen column either way", () => {
    const list = [f("/b", "file", 10, 3, 3), f("/a", "file", 30, 1, 1), f("/z", "directory", 0, 0, 2), f("/c", "file", 20, 2, 2)];
    expect(sortEntries(list, "name", true).map((e) => e.path)).toEqual(["/z", "/a", "/b", "/c"]);
    expect(sortEntries(list, "size", false).map((e) => e.path)).toEqual(["/z", "/a", "/c", "/b"]);
    expect(sortEntries(list, "modified", true).map((e) => e.path)).toEqual(["/z", "/a", "/c", "/b"]);
  });
});

describe("the per-file view", () => {
  it("folds the chunks' CRC-32s into the whole file's without reading it", () => {
    const data = new Uint8Array(10_000).map((_, i) => (i * 31) & 0xff);
    const chunks = [data.subarray(0, 4096), data.subarray(4096, 8192), data.subarray(8192)].map((c) => ({ checksum: crc32Update(c), length: c.length }));
    expect(fileChecksum(chunks)).toBe(crc32Update(data) >>> 0);
  });
});
