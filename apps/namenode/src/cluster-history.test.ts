import { describe, expect, it } from "vitest";
import { ClusterHistory, type HistorySources } from "./cluster-history.js";
import type { DataNodeView } from "./datanode-manager.js";

function node(id: string, read: number, written: number, lastHeartbeatMs: number, live = true): DataNodeView {
  return {
    id, address: `http://127.0.0.1:${id}`, zone: "", live, adminState: "normal", capacityBytes: 100, freeBytes: 60, usedBytes: 30,
    chunkCount: 1, lastHeartbeatMs, diskId: "1", bytesReadTotal: read, bytesWrittenTotal: written, volumeDeadBytes: 0, compactionReclaimedBytesTotal: 0,
  };
}

describe("ClusterHistory", () => {
  it("samples rates from the growth of totals, per node and in all, with heartbeat ages, and keeps a bounded window", () => {
    let now = 100_000;
    let nodes = [node("a", 0, 0, now), node("b", 0, 0, now)];
    let rpc = { count: 0, seconds: 0 };
    let under = 0;
    const sources: HistorySources = {
      now: () => now,
      datanodes: () => nodes,
      space: () => ({ capacityBytes: 100, dfsUsedBytes: 30, nonDfsUsedBytes: 10, freeBytes: 60 }),
      chunks: () => ({ underReplicated: under, missing: 0, corruptReplicas: 0 }),
      rpcTotals: () => rpc,
    };
    const h = new ClusterHistory(sources, 10_000, 3);
    h.sample();
    now += 10_000;
    nodes = [node("a", 10_000, 50_000, now - 2000), node("b", 30_000, 0, now)];
    rpc = { count: 40, seconds: 0.2 };
    under = 2;
    h.sample();
    let r = h.read();
    expect(r.timesMs).toEqual([100_000n, 110_000n]);
    // The first sample has no rates: nothing to compare with.
    expect(Number.isNaN(r.readBytesPerSecond[0])).toBe(true);
    expect(r.readBytesPerSecond[1]).toBe(4000);
    expect(r.writeBytesPerSecond[1]).toBe(5000);
    expect(r.rpcPerSecond[1]).toBe(4);
    expect(r.rpcMeanMs[1]).toBeCloseTo(5);
    expect(r.underReplicatedChunks).toEqual([0, 2]);
    expect(r.datanodes.map((d) => [d.datanodeId, d.readBytesPerSecond[1], d.heartbeatAgeSeconds[1]])).toEqual([["a", 1000, 2], ["b", 3000, 0]]);
    // A node that restarted counts from zero; a new node appears with no values before it; a dead one has no rate.
    now += 10_000;
    nodes = [node("a", 5000, 50_000, now), node("b", 30_000, 0, now - 15_000, false), node("c", 100, 0, now)];
    h.sample();
    r = h.read();
    expect(r.datanodes.find((d) => d.datanodeId === "a")!.readBytesPerSecond[2]).toBe(500);
    expect(Number.isNaN(r.datanodes.find((d) => d.datanodeId === "b")!.readBytesPerSecond[2])).toBe(true);
    expect(r.datanodes.find((d) => d.datanodeId === "b")!.heartbeatAgeSeconds[2]).toBe(15);
    expect(Number.isNaN(r.datanodes.find((d) => d.datanodeId === "c")!.heartbeatAgeSeconds[0])).toBe(true);
    // Bounded: the oldest sample goes; `since` gives only newer ones.
    now += 10_000;
    h.sample();
    expect(h.size).toBe(3);
    expect(h.read().timesMs[0]).toBe(110_000n);
    expect(h.read(120_000).timesMs).toEqual([130_000n]);
  });
});
