import { describe, expect, it } from "vitest";
import { ReplicaVerifications } from "./replica-verifications.js";

describe("ReplicaVerifications", () => {
  const expected = (chunkId: string, datanodeId: string) => (datanodeId === "dn-x" ? undefined : { chunkId, length: 5, checksum: 1 });

  it("asks about each replica at most once per repeat delay, and hands requests out a heartbeat's worth at a time", () => {
    const clock = { now: 0 };
    const v = new ReplicaVerifications({ maxPendingPerNode: 100, repeatAfterMs: 1000, maxPerHeartbeat: 2 }, expected, () => clock.now);
    expect(v.request([{ chunkId: "a", datanodeId: "dn-1" }, { chunkId: "a", datanodeId: "dn-1" }, { chunkId: "a", datanodeId: "dn-x" }])).toBe(1);
    expect(v.request(["b", "c"].map((chunkId) => ({ chunkId, datanodeId: "dn-1" })))).toBe(2);
    expect(v.takeFor("dn-1").map((r) => r.chunkId)).toEqual(["a", "b"]);
    expect(v.takeFor("dn-1").map((r) => r.chunkId)).toEqual(["c"]);
    expect(v.request([{ chunkId: "a", datanodeId: "dn-1" }])).toBe(0);
    clock.now += 1000;
    expect(v.request([{ chunkId: "a", datanodeId: "dn-1" }])).toBe(1);
    v.dropNode("dn-1");
    expect(v.count()).toBe(0);
  });

  it("keeps each node's queue bounded", () => {
    const v = new ReplicaVerifications({ maxPendingPerNode: 3, repeatAfterMs: 1000, maxPerHeartbeat: 10 }, expected, () => 0);
    const suspects = Array.from({ length: 10 }, (_, i) => ({ chunkId: `c${i}`, datanodeId: "dn-1" }));
    expect(v.request(suspects)).toBe(3);
    expect(v.count()).toBe(3);
  });
});
