import { describe, expect, it } from "vitest";
import { formatHaStatus, formatListing } from "./format.js";

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

describe("formatHaStatus", () => {
  it("lists each NameNode's role for an HA cluster, and nothing for a single NameNode", () => {
    const members = [
      { address: "http://nn1:9870", role: "active", appliedSeq: 42 },
      { address: "http://nn2:9870", role: "standby", appliedSeq: 40 },
    ];
    expect(formatHaStatus({ haEnabled: true, role: "standby", advertiseAddress: "http://nn2:9870", activeAddress: "http://nn1:9870", epoch: 7, appliedSeq: 40, members })).toBe(
      "NameNodes (high availability, epoch 7): active http://nn1:9870\n  http://nn1:9870  active, applied seq 42\n  http://nn2:9870  standby, applied seq 40",
    );
    expect(formatHaStatus({ haEnabled: true, role: "standby", advertiseAddress: "http://nn2:9870", activeAddress: "", epoch: 0, appliedSeq: 0, members: [] })).toContain("active none elected");
    expect(formatHaStatus({ haEnabled: false, role: "single", advertiseAddress: "", activeAddress: "", epoch: 0, appliedSeq: 0, members: [] })).toBe("");
  });
});
