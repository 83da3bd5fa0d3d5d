import { describe, expect, it } from "vitest";
import { testNameNode } from "../../test/test-namenode.js";

/** A complete file of one chunk stored on `holders`, through the chunk manager's own paths. */
async function storedFile(nn: Awaited<ReturnType<typeof testNameNode>>, path: string, holders: string[], replication = holders.length) {
  const planned = await nn.writes.start(path, 10, replication, 1024);
  const chunk = planned.chunks[0]!;
  const digest = { chunkId: chunk.chunkId, length: 10, checksum: 7 };
  for (const dn of holders) await nn.chunks.commit(dn, digest);
  await nn.writes.confirm(path, planned.uploadId, [digest]);
  return chunk.chunkId;
}

describe("ChunkManager", () => {
  it("takes a reader's suspicion as a request to verify, never as a verdict, however often it comes", async () => {
    const nn = await testNameNode({ nodes: 3 });
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    const everyReplica = ["dn-1", "dn-2", "dn-3"].map((datanodeId) => ({ chunkId, datanodeId }));
    expect(nn.chunks.suspect(everyReplica)).toBe(3);
    for (let i = 0; i < 1000; i++) nn.chunks.suspect(everyReplica);
    // Nothing condemned, nothing queued, nothing trashed: the replicas still count.
    expect(nn.chunks.countReplicas(chunkId)?.inService).toEqual(["dn-1", "dn-2", "dn-3"]);
    expect(nn.chunks.counts()).toMatchObject({ corruptReplicas: 0, pendingTrash: 0, underReplicated: 0, missing: 0, pendingVerifications: 3 });
    // Each holder is asked once, with what its replica must match.
    const work = await nn.chunks.heartbeat("dn-2", [], []);
    expect(work.verify).toEqual([{ chunkId, length: 10, checksum: 7 }]);
    expect((await nn.chunks.heartbeat("dn-2", [], [])).verify).toEqual([]);
    // Replicas that do not exist, or of chunks that do not, are not asked about.
    expect(nn.chunks.suspect([{ chunkId, datanodeId: "dn-4" }, { chunkId: "no-such-chunk", datanodeId: "dn-1" }])).toBe(0);
  });

  it("condemns a replica on its DataNode's own word, copies a good one and trashes the bad one", async () => {
    const nn = await testNameNode({ nodes: 4 });
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    await nn.chunks.markCorrupt("dn-3", [{ chunkId, reason: "checksum mismatch in piece 0" }]);
    expect(nn.chunks.countReplicas(chunkId)?.inService).toEqual(["dn-1", "dn-2"]);
    expect(nn.chunks.owesDeletion("dn-3", chunkId)).toBe(true);
    expect(nn.chunks.health(nn.chunks.countReplicas(chunkId))).toBe("under_replicated");
    await nn.chunks.runRound();
    expect(nn.chunks.pending.get(chunkId)?.targetIds).toEqual(["dn-4"]);
    // Only a registered DataNode may speak for its replicas.
    await expect(nn.chunks.markCorrupt("dn-9", [{ chunkId, reason: "x" }])).rejects.toMatchObject({ code: "failed_precondition" });
  });

  it("counts replicas one way for fsck, the monitor and decommissioning: draining copies are not kept ones", async () => {
    const nn = await testNameNode({ nodes: 4 });
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    await nn.cluster.decommission("dn-1");
    const count = nn.chunks.countReplicas(chunkId)!;
    expect(count).toMatchObject({ replication: 3, live: ["dn-1", "dn-2", "dn-3"], inService: ["dn-2", "dn-3"], draining: ["dn-1"], corrupt: [] });
    expect(nn.chunks.health(count)).toBe("under_replicated");
    expect(nn.files.fsck("/").totals).toEqual({ healthy: 0, under_replicated: 1, corrupt: 0, missing: 0 });
    expect(nn.chunks.counts().underReplicated).toBe(1);
  });

  it("trashes what a deleted file's nodes hold, and forgets its chunks everywhere", async () => {
    const nn = await testNameNode({ nodes: 3 });
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2"]);
    await nn.files.setReplication("/f", 3);
    expect(nn.chunks.counts().underReplicated).toBe(1);
    await nn.files.delete("/f", false);
    expect(nn.chunks.get(chunkId)).toBeUndefined();
    expect(nn.chunks.counts()).toMatchObject({ underReplicated: 0, pendingTrash: 2 });
    // A late commit of the deleted chunk is refused as unknown: the DataNode drops its copy.
    await expect(nn.chunks.commit("dn-3", { chunkId, length: 10, checksum: 7 })).rejects.toMatchObject({ code: "not_found" });
  });

  it("spreads the first replica of reads over the holders, the same for a chunk at every call", async () => {
    const nn = await testNameNode({ nodes: 3 });
    const firsts = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const chunkId = await storedFile(nn, `/f${i}`, ["dn-1", "dn-2", "dn-3"]);
      const order = nn.chunks.locate(chunkId).replicas;
      expect([...order].sort()).toEqual(["dn-1", "dn-2", "dn-3"]);
      expect(nn.chunks.locate(chunkId).replicas).toEqual(order);
      firsts.set(order[0]!, (firsts.get(order[0]!) ?? 0) + 1);
    }
    // Random ids: each holder comes first for about a third of the files (under 4 of 60 in fewer than one run in a million).
    for (const dn of ["dn-1", "dn-2", "dn-3"]) expect(firsts.get(dn) ?? 0).toBeGreaterThanOrEqual(4);
  });

  it("renews a write's lease when its replicas are committed", async () => {
    const nn = await testNameNode({ nodes: 3, config: { uploadLeaseMs: 1000 } });
    const planned = await nn.writes.start("/f", 10, 3, 1024);
    nn.clock.now += 900;
    await nn.chunks.commit("dn-1", { chunkId: planned.chunks[0]!.chunkId, length: 10, checksum: 7 });
    nn.clock.now += 900;
    expect(await nn.writes.expireLeases()).toEqual([]);
    nn.clock.now += 101;
    expect(await nn.writes.expireLeases()).toEqual(["/f"]);
  });
});

describe("zone-aware placement", () => {
  const zones = ["a", "a", "a", "b", "b", "b"];

  it("spreads every new chain over both zones, at most two replicas in one", async () => {
    const nn = await testNameNode({ nodes: 6, zones });
    for (let i = 0; i < 20; i++) {
      const planned = await nn.writes.start(`/f${i}`, 3000, 3, 1024);
      for (const c of planned.chunks) {
        const inZone = (z: string) => c.chain.filter((id) => zones[Number(id.slice(3)) - 1] === z).length;
        expect(inZone("a") >= 1 && inZone("b") >= 1, `${c.chain}`).toBe(true);
        expect(Math.max(inZone("a"), inZone("b"))).toBeLessThanOrEqual(2);
      }
    }
  });

  it("moves a chunk whose replicas sit in one zone into the other, then trims the surplus in the crowded zone", async () => {
    const nn = await testNameNode({ nodes: 6, zones });
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    expect(nn.chunks.counts().misplaced).toBe(1);
    await nn.chunks.runRound();
    const copy = nn.chunks.pending.get(chunkId)!;
    expect(copy.targetIds).toHaveLength(1);
    const target = copy.targetIds[0]!;
    expect(zones[Number(target.slice(3)) - 1]).toBe("b");
    await nn.chunks.commit(target, { chunkId, length: 10, checksum: 7 });
    await nn.chunks.runRound();
    const kept = nn.chunks.countReplicas(chunkId)!.inService;
    expect(kept).toHaveLength(3);
    expect(kept).toContain(target);
    expect(nn.chunks.counts()).toMatchObject({ misplaced: 0, surplus: 0, underReplicated: 0 });
  });

  it("looks again at chunks written while a zone was away, even when it left and came back between two rounds", async () => {
    const nn = await testNameNode({ nodes: 6, zones });
    await nn.chunks.runRound();
    for (const id of ["dn-4", "dn-5", "dn-6"]) nn.datanodes.markDead(id);
    // Past the monitor's one-second view of the zones: the commit judges placement with zone a alone.
    nn.clock.now += 1000;
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    expect(nn.chunks.counts().misplaced).toBe(0);
    for (let i = 4; i <= 6; i++) await nn.datanodes.register(`dn-${i}`, `http://127.0.0.1:${i}`, 1e9, 1e9, "b");
    // No round saw zone b gone; the next one still finds the chunk misplaced.
    await nn.chunks.runRound();
    await nn.chunks.scan.whenDone();
    expect(nn.chunks.counts().misplaced).toBe(1);
    await nn.chunks.runRound();
    expect(zones[Number(nn.chunks.pending.get(chunkId)!.targetIds[0]!.slice(3)) - 1]).toBe("b");
  });

  it("behaves as before with a single zone: nothing is misplaced", async () => {
    const nn = await testNameNode({ nodes: 3 });
    await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    expect(nn.chunks.counts().misplaced).toBe(0);
  });
});

describe("the balancer", () => {
  it("moves replicas from full nodes to a new empty one, copy first and trim after, until within the threshold", async () => {
    const used = new Map<string, number>();
    const nn = await testNameNode({ nodes: 4, free: (i) => (i === 4 ? 1000 : 400), config: { balancerBandwidthBytesPerSecond: 1e9 } });
    const report = () => {
      for (const id of ["dn-1", "dn-2", "dn-3", "dn-4"]) {
        const bytes = nn.chunks.chunksOn(id).length * 10;
        used.set(id, bytes);
        nn.datanodes.heartbeat(id, { capacityBytes: 100, freeBytes: 100 - bytes, usedBytes: bytes, chunkCount: bytes / 10 });
      }
    };
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await storedFile(nn, `/f${i}`, ["dn-1", "dn-2", "dn-3"], 3));
    report();
    expect(used.get("dn-4")).toBe(0);
    expect(nn.chunks.balancer.start({ thresholdPercent: 10 }).running).toBe(true);
    for (let round = 0; round < 40 && nn.chunks.balancer.status().running; round++) {
      await nn.chunks.runRound();
      // Targets commit what they were sent, as their heartbeats would carry it.
      for (const task of nn.chunks.pending.all()) for (const t of task.targetIds) await nn.chunks.commit(t, { chunkId: task.chunkId, length: 10, checksum: 7 });
      await nn.chunks.runRound();
      // Trimmed replicas are deleted by their nodes.
      for (const id of ["dn-1", "dn-2", "dn-3", "dn-4"]) {
        const owed = await nn.store.write(() => nn.chunks.trash.takeForHeartbeat(id, 100, nn.clock.now));
        await nn.store.write(() => nn.chunks.trash.confirm(id, owed));
      }
      report();
      nn.clock.now += 1000;
    }
    const status = nn.chunks.balancer.status();
    expect(status).toMatchObject({ running: false, stopReason: "balanced" });
    expect(status.movesDone).toBeGreaterThan(0);
    expect(used.get("dn-4")).toBeGreaterThan(0);
    // Never below target: every chunk still has its three replicas.
    for (const chunkId of ids) expect(nn.chunks.countReplicas(chunkId)!.inService).toHaveLength(3);
  });

  it("refuses a threshold that is not a percentage, and stops when asked", async () => {
    const nn = await testNameNode({ nodes: 3 });
    expect(() => nn.chunks.balancer.start({ thresholdPercent: 150 })).toThrow(/percentage/);
    nn.chunks.balancer.start({ thresholdPercent: 5 });
    expect(nn.chunks.balancer.stop()).toMatchObject({ running: false, stopReason: "stopped by an operator" });
  });
});

describe("a DataNode back after a late heartbeat", () => {
  it("has its chunks checked again, so a copy made meanwhile is trimmed as surplus", async () => {
    const nn = await testNameNode({ nodes: 4, config: { heartbeatTimeoutMs: 10_000 } });
    const chunkId = await storedFile(nn, "/f", ["dn-1", "dn-2", "dn-3"]);
    // dn-3 falls silent past the timeout (not yet declared dead): a copy goes to dn-4.
    nn.clock.now += 10_001;
    nn.beat("dn-1", "dn-2", "dn-4");
    await nn.store.write(() => nn.chunks.recheck([chunkId]));
    await nn.chunks.replication.runOnce();
    expect(nn.chunks.pending.get(chunkId)?.targetIds).toEqual(["dn-4"]);
    await nn.chunks.commit("dn-4", { chunkId, length: 10, checksum: 7 });
    expect(nn.chunks.counts().surplus).toBe(0);
    // Its heartbeat arrives: it counts again, and the chunk has one replica too many.
    await nn.cluster.heartbeat("dn-3", { capacityBytes: 1e9, freeBytes: 1e9, usedBytes: 0, chunkCount: 1 }, [], []);
    expect(nn.chunks.countReplicas(chunkId)!.inService).toHaveLength(4);
    expect(nn.chunks.counts().surplus).toBe(1);
    await nn.chunks.replication.runOnce();
    expect(nn.chunks.countReplicas(chunkId)!.inService).toHaveLength(3);
  });
});
