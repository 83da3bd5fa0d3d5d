import { describe, expect, it } from "vitest";
import { ChunkMap } from "./chunk-map.js";
import { DataNodeManager } from "../datanode-manager.js";
import { openTestStore } from "../../test/test-store.js";

async function setup() {
  const { store } = await openTestStore();
  const datanodes = new DataNodeManager(store, 60_000);
  for (const id of ["dn-1", "dn-2"]) await datanodes.register(id, `http://127.0.0.1/${id}`, 1e6, 1e6);
  const chunkMap = new ChunkMap(store, datanodes);
  const commit = (dn: string, r: { chunkId: string; length: number; checksum: number }, at: number) => store.write(() => chunkMap.commit(dn, r, at));
  await store.write(() => {
    store.chunks.put("c1", { chunkId: "c1", inodeId: 5, index: 0, offset: 0, length: 10, checksum: 42 });
    store.chunks.put("c2", { chunkId: "c2", uploadId: "u", index: 0, offset: 0, length: 20 });
  });
  return { store, datanodes, chunkMap, commit };
}

describe("ChunkMap", () => {
  it("records commits idempotently and lists live holders", async () => {
    const { chunkMap, store, commit } = await setup();
    await commit("dn-1", { chunkId: "c1", length: 10, checksum: 42 }, 1);
    await commit("dn-1", { chunkId: "c1", length: 10, checksum: 42 }, 2);
    await commit("dn-2", { chunkId: "c1", length: 10, checksum: 42 }, 3);
    expect(chunkMap.liveHolders(store.chunks.get("c1")!)).toEqual(["dn-1", "dn-2"]);
    expect(chunkMap.replicas("c1")).toHaveLength(2);
  });

  it("tells whether exactly a replica is recorded, and records a checked one without touching the upload", async () => {
    const { chunkMap, store } = await setup();
    const r = { chunkId: "c2", length: 20, checksum: 9 };
    expect(chunkMap.isRecorded("dn-1", r)).toBe(false);
    await store.write(() => chunkMap.record("dn-1", r, 5));
    expect(chunkMap.isRecorded("dn-1", r)).toBe(true);
    expect(chunkMap.isRecorded("dn-2", r)).toBe(false);
    expect(chunkMap.isRecorded("dn-1", { ...r, checksum: 8 })).toBe(false);
    expect(chunkMap.isRecorded("dn-1", { ...r, length: 21 })).toBe(false);
    expect(chunkMap.replicas("c2")).toEqual([{ datanodeId: "dn-1", replica: { length: 20, checksum: 9, committedMs: 5 } }]);
    expect(chunkMap.chunksOn("dn-1")).toEqual(["c2"]);
  });

  it("refuses commits of unknown chunks and of replicas that differ from the record", async () => {
    const { commit } = await setup();
    await expect(commit("dn-1", { chunkId: "nope", length: 1, checksum: 1 }, 0)).rejects.toMatchObject({ code: "not_found" });
    await expect(commit("dn-1", { chunkId: "c1", length: 10, checksum: 41 }, 0)).rejects.toMatchObject({ code: "failed_precondition" });
    await expect(commit("dn-1", { chunkId: "c1", length: 9, checksum: 42 }, 0)).rejects.toMatchObject({ code: "failed_precondition" });
  });

  it("replaces a node's replicas with its chunk report", async () => {
    const { chunkMap, store, commit } = await setup();
    await commit("dn-1", { chunkId: "c1", length: 10, checksum: 42 }, 0);
    const result = await store.write(() =>
      chunkMap.applyReport(
        "dn-1",
        [
          { chunkId: "c2", length: 20, checksum: 9 },
          { chunkId: "orphan", length: 1, checksum: 1 },
          { chunkId: "c1", length: 10, checksum: 0 },
        ],
        5,
        1,
      ),
    );
    expect(result).toMatchObject({ accepted: 1, unknown: 1, mismatched: 1, unknownChunkIds: ["orphan"] });
    expect(result.changed.sort()).toEqual(["c1", "c2"]);
    expect(chunkMap.replicas("c1")).toEqual([]);
    expect(chunkMap.replicas("c2").map((r) => r.datanodeId)).toEqual(["dn-1"]);
    expect([...store.replicasByNode.getKeys()]).toEqual([["dn-1", "c2"]]);
  });

  it("keeps replicas committed after the node listed its disk for the report", async () => {
    const { chunkMap, store, commit } = await setup();
    await commit("dn-1", { chunkId: "c1", length: 10, checksum: 42 }, 100);
    // The report was listed at 50 (registration), before the commit at 100: c1 stays.
    const r = await store.write(() => chunkMap.applyReport("dn-1", [], 120, 50));
    expect(r.changed).toEqual([]);
    expect(chunkMap.replicas("c1").map((x) => x.datanodeId)).toEqual(["dn-1"]);
    expect(await store.write(() => chunkMap.dropNode("dn-1"))).toEqual(["c1"]);
    expect(chunkMap.replicas("c1")).toEqual([]);
  });
});
