import { describe, expect, it } from "vitest";
import { testNameNode } from "../../test/test-namenode.js";

/** A NameNode's replication machinery over a real store, with a hand-driven clock. */
async function setup(nodes: number, settings: Partial<{ maxReplicationStreams: number; replicationTimeoutMs: number }> = {}) {
  const nn = await testNameNode({ nodes, config: { maxReplicationStreams: 4, replicationTimeoutMs: 30_000, ...settings } });
  const { store, clock, datanodes, chunks, heartbeats, beat } = nn;
  const { map: chunkMap, queue, pending, trash, corrupt, replication: monitor } = chunks;
  const now = () => clock.now;
  /** A complete file with one chunk per entry, each stored on the given nodes. */
  const file = async (replication: number, holders: string[][]) =>
    store.write(() => {
      const chunkIds = holders.map((_, i) => `chunk-${i}`);
      store.inodes.put(100, { id: 100, parentId: 1, name: "f", type: "file", mtimeMs: 0, size: 10, replication, chunkSize: 10, chunkIds });
      holders.forEach((nodesOfChunk, i) => {
        store.chunks.put(`chunk-${i}`, { chunkId: `chunk-${i}`, inodeId: 100, index: i, offset: 0, length: 10, checksum: 7 });
        for (const dn of nodesOfChunk) chunkMap.commit(dn, { chunkId: `chunk-${i}`, length: 10, checksum: 7 }, now());
        monitor.recheck(`chunk-${i}`);
      });
      return chunkIds;
    });
  return { store, clock, datanodes, chunks, chunkMap, queue, pending, trash, corrupt, monitor, heartbeats, file, beat };
}

describe("ReplicationMonitor", () => {
  it("queues chunks by how few live replicas remain and plans the most endangered first", async () => {
    const t = await setup(5, { maxReplicationStreams: 1 });
    await t.file(3, [["dn-1", "dn-2"], ["dn-3"], ["dn-1", "dn-2", "dn-3"]]);
    expect(t.queue.ordered(10)).toEqual(["chunk-1", "chunk-0"]);
    expect(t.queue.counts()).toEqual({ missing: 0, underReplicated: 2, misplaced: 0, surplus: 0 });
    await t.monitor.runOnce();
    // One stream per node: chunk-1 (one copy left) goes first, from dn-3 to the
    // two roomiest nodes, dn-1 and dn-2; that leaves chunk-0 no free source.
    expect(t.pending.get("chunk-1")).toMatchObject({ sourceId: "dn-3", targetIds: ["dn-1", "dn-2"] });
    expect(t.pending.get("chunk-0")).toBeUndefined();
    await t.store.write(() => {
      for (const dn of ["dn-1", "dn-2"]) {
        t.chunkMap.commit(dn, { chunkId: "chunk-1", length: 10, checksum: 7 }, t.clock.now);
        t.monitor.onCommit("chunk-1", dn);
      }
    });
    await t.monitor.runOnce();
    expect(t.pending.get("chunk-0")?.targetIds).toEqual(["dn-3"]);
  });

  it("hands copies to their source once, and finishes them when every target commits", async () => {
    const t = await setup(4);
    await t.file(3, [["dn-1", "dn-2"]]);
    await t.monitor.runOnce();
    const task = t.pending.get("chunk-0")!;
    const delivered = await t.store.write(() => t.pending.takeForSource(task.sourceId, 10, t.clock.now));
    expect(delivered.map((d) => d.chunkId)).toEqual(["chunk-0"]);
    expect(await t.store.write(() => t.pending.takeForSource(task.sourceId, 10, t.clock.now))).toEqual([]);
    await t.store.write(() => {
      t.chunkMap.commit(task.targetIds[0]!, { chunkId: "chunk-0", length: 10, checksum: 7 }, t.clock.now);
      t.monitor.onCommit("chunk-0", task.targetIds[0]!);
    });
    expect(t.pending.count()).toBe(0);
    expect(t.queue.counts().underReplicated).toBe(0);
  });

  it("plans again, elsewhere when it can, after a timeout or a failure at the source", async () => {
    const t = await setup(5);
    await t.file(2, [["dn-1"]]);
    await t.monitor.runOnce();
    const firstTarget = t.pending.get("chunk-0")!.targetIds[0]!;
    t.clock.now += 30_001;
    t.beat("dn-1", "dn-2", "dn-3", "dn-4", "dn-5");
    await t.monitor.runOnce();
    const second = t.pending.get("chunk-0")!;
    expect(second.targetIds[0]).not.toBe(firstTarget);
    await t.store.write(() => t.monitor.onFailed("dn-1", ["chunk-0"]));
    expect(t.pending.get("chunk-0")).toBeUndefined();
    await t.monitor.runOnce();
    expect(t.pending.get("chunk-0")).toBeDefined();
    // Both given up (the timeout, then the source's failure) count as failed copies.
    expect(t.monitor.stats).toMatchObject({ copiesFailed: 2, copiesFinished: 0 });
  });

  it("counts finished copies and their bytes, and says why chunks wait when too few DataNodes are in service", async () => {
    const t = await setup(2);
    await t.file(3, [["dn-1"]]);
    await t.monitor.runOnce();
    const task = t.pending.get("chunk-0")!;
    expect(task.targetIds).toEqual(["dn-2"]);
    await t.store.write(() => {
      t.chunkMap.commit("dn-2", { chunkId: "chunk-0", length: 10, checksum: 7 }, t.clock.now);
      t.monitor.onCommit("chunk-0", "dn-2");
    });
    expect(t.monitor.stats).toEqual({ copiesFinished: 1, copiesFailed: 0, bytesCopied: 10 });
    // Two replicas on the only two nodes, replication 3: no target anywhere.
    await t.monitor.runOnce();
    expect(t.monitor.blocked).toEqual({ chunks: 1, needed: 3, inService: 2, noRoom: 0 });
    expect(t.chunks.replicationBlocked()).toBe("1 chunk cannot be copied: needs 3 live DataNodes in service, 2 are");
  });

  it("plans again at once, not after the timeout, when the target or the source of a copy dies", async () => {
    const t = await setup(4);
    await t.file(2, [["dn-1", "dn-2"]]);
    t.clock.now += 10_001;
    t.beat("dn-1", "dn-3", "dn-4");
    await t.heartbeats.runOnce(); // dn-2 dead
    await t.monitor.runOnce();
    const first = t.pending.get("chunk-0")!;
    expect(first.sourceId).toBe("dn-1");
    const target = first.targetIds[0]!;
    const other = target === "dn-3" ? "dn-4" : "dn-3";
    // The target falls silent: the copy is planned again, to the other node, at once.
    t.clock.now += 10_001;
    t.beat("dn-1", other);
    await t.heartbeats.runOnce();
    expect(t.pending.get("chunk-0")).toBeUndefined();
    await t.monitor.runOnce();
    expect(t.pending.get("chunk-0")).toMatchObject({ sourceId: "dn-1", targetIds: [other] });
    // The source falls silent: nothing can be copied any more, and nothing waits for it.
    t.clock.now += 10_001;
    t.beat(other);
    await t.heartbeats.runOnce();
    expect(t.pending.count()).toBe(0);
    expect(t.queue.counts().missing).toBe(1);
  });

  it("sends surplus replicas on the fullest nodes to trash", async () => {
    const t = await setup(4);
    await t.file(2, [["dn-1", "dn-2", "dn-4"]]);
    expect(t.queue.counts().surplus).toBe(1);
    await t.monitor.runOnce();
    // dn-4 registered with the least free space.
    expect(t.trash.has("dn-4", "chunk-0")).toBe(true);
    expect(t.chunkMap.replicas("chunk-0").map((r) => r.datanodeId)).toEqual(["dn-1", "dn-2"]);
    expect(t.queue.counts()).toEqual({ missing: 0, underReplicated: 0, misplaced: 0, surplus: 0 });
  });

  it("counts a chunk with no live replica as missing and plans nothing for it", async () => {
    const t = await setup(3);
    await t.file(3, [["dn-1"]]);
    t.clock.now += 10_001;
    t.beat("dn-2", "dn-3");
    await t.heartbeats.runOnce();
    expect(t.datanodes.isLive("dn-1")).toBe(false);
    expect(t.queue.counts()).toEqual({ missing: 1, underReplicated: 0, misplaced: 0, surplus: 0 });
    await t.monitor.runOnce();
    expect(t.pending.count()).toBe(0);
  });

  it("declares a silent node dead, drops its replicas and what it owed, and re-queues its chunks", async () => {
    const t = await setup(4);
    await t.file(3, [["dn-1", "dn-2", "dn-3"]]);
    await t.store.write(() => t.trash.add("dn-1", "old-chunk", 0));
    t.clock.now += 10_001;
    t.beat("dn-2", "dn-3", "dn-4");
    await t.heartbeats.runOnce();
    expect(t.datanodes.isLive("dn-1")).toBe(false);
    expect(t.datanodes.heartbeat("dn-1", { capacityBytes: 1, freeBytes: 1, usedBytes: 0, chunkCount: 0 })).toBe(false); // must register again
    expect(t.chunkMap.chunksOn("dn-1")).toEqual([]);
    expect(t.trash.count()).toBe(0);
    expect(t.queue.ordered(10)).toEqual(["chunk-0"]);
    await t.monitor.runOnce();
    expect(t.pending.get("chunk-0")!.targetIds).toEqual(["dn-4"]);
  });

  it("keeps draining nodes as sources only, and marks them decommissioned once their chunks are safe", async () => {
    const t = await setup(4);
    await t.file(3, [["dn-1", "dn-2", "dn-3"]]);
    await t.store.write(() => {
      t.datanodes.setAdminState("dn-1", "decommissioning");
      t.monitor.recheck("chunk-0");
    });
    expect(t.datanodes.placementNodes().map((c) => c.id)).not.toContain("dn-1");
    await t.monitor.runOnce();
    const task = t.pending.get("chunk-0")!;
    expect(task.targetIds).toEqual(["dn-4"]);
    expect(t.datanodes.adminState("dn-1")).toBe("decommissioning");
    await t.store.write(() => {
      t.chunkMap.commit("dn-4", { chunkId: "chunk-0", length: 10, checksum: 7 }, t.clock.now);
      t.monitor.onCommit("chunk-0", "dn-4");
    });
    await t.monitor.runOnce();
    expect(t.datanodes.adminState("dn-1")).toBe("decommissioned");
    expect(t.trash.count()).toBe(0); // the drained copy is not surplus: it does not count
  });

  it("stops counting a bad replica, copies from a good one elsewhere, and trashes the bad one once whole", async () => {
    const t = await setup(4);
    await t.file(3, [["dn-1", "dn-2", "dn-3"]]);
    await t.store.write(() => {
      t.corrupt.mark("chunk-0", "dn-3", "checksum mismatch in piece 0", t.clock.now);
      t.monitor.recheck("chunk-0");
    });
    // Good copies remain, so the bad one goes to trash at once.
    expect(t.corrupt.count()).toBe(0);
    expect(t.trash.has("dn-3", "chunk-0")).toBe(true);
    expect(t.chunkMap.liveHolders(t.store.chunks.get("chunk-0")!)).toEqual(["dn-1", "dn-2"]);
    await t.monitor.runOnce();
    expect(t.pending.get("chunk-0")!.targetIds).toEqual(["dn-4"]); // never a node still owing a deletion
  });

  it("puts the good copy back on the node of the bad one once it has deleted it (three nodes)", async () => {
    const t = await setup(3);
    await t.file(3, [["dn-1", "dn-2", "dn-3"]]);
    await t.store.write(() => {
      t.corrupt.mark("chunk-0", "dn-3", "truncated", t.clock.now);
      t.monitor.recheck("chunk-0");
    });
    await t.monitor.runOnce();
    expect(t.pending.count()).toBe(0); // dn-3 still owes the deletion
    await t.store.write(() => t.trash.confirm("dn-3", ["chunk-0"]));
    await t.monitor.runOnce();
    expect(t.pending.get("chunk-0")!.targetIds).toEqual(["dn-3"]);
  });

  it("keeps bad copies while no good one is left", async () => {
    const t = await setup(3);
    await t.file(2, [["dn-1", "dn-2"]]);
    await t.store.write(() => {
      for (const dn of ["dn-1", "dn-2"]) t.corrupt.mark("chunk-0", dn, "checksum mismatch", t.clock.now);
      t.monitor.recheck("chunk-0");
    });
    expect(t.corrupt.count()).toBe(2);
    expect(t.trash.count()).toBe(0);
    expect(t.queue.counts().missing).toBe(1);
  });
});
