import type { Key, RootDatabase } from "lmdb";
import { describe, expect, it } from "vitest";
import { openTestStore } from "../test/test-store.js";
import type { Journal, JournalOp } from "./metadata-store.js";

describe("MetadataStore", () => {
  it("opens LMDB with classic commits, each flushed before it resolves (not lmdb-js's overlapping sync)", async () => {
    const { store } = await openTestStore();
    // Overlapping sync can roll back the last acknowledged commit after a
    // power loss (see durable-lmdb.ts); lmdb-js reports the mode it opened in.
    const root = (store as unknown as { root: RootDatabase & { overlappingSync: boolean } }).root;
    expect(root.overlappingSync).toBe(false);
    const inodeId = await store.write(() => store.nextInodeId());
    expect(await store.write(() => store.nextInodeId())).toBe(inodeId + 1);
  });
});

describe("MetadataStore journaling (HA)", () => {
  /** A replicator that keeps what it is given and appends on demand. */
  function replicator(epoch = 7) {
    const journals: Journal[] = [];
    let writable = true;
    return {
      journals,
      setWritable: (w: boolean) => (writable = w),
      checkWritable: () => {
        if (!writable) throw new Error("standby");
        return epoch;
      },
      append: async (j: Journal) => void journals.push(j),
      lost: () => undefined,
    };
  }
  const dir = (id: number, name: string) => ({ id, parentId: 1, name, type: "dir" as const, mtimeMs: 1, size: 0, replication: 0, chunkSize: 0, chunkIds: [] });

  it("numbers each write that changes something, records its puts and removes, and records nothing of a write that throws", async () => {
    const { store } = await openTestStore();
    const r = replicator();
    store.setReplicator(r);
    await store.write(() => store.inodes.put(10, dir(10, "a")));
    await store.write(() => store.inodes.get(10));
    await expect(store.write(() => {
      store.inodes.put(11, dir(11, "b"));
      throw new Error("refused");
    })).rejects.toThrow("refused");
    await store.write(() => store.inodes.remove(10));
    expect(r.journals.map((j) => j.seq)).toEqual([1, 2]);
    expect(r.journals.map((j) => j.epoch)).toEqual([7, 7]);
    expect(r.journals[0]!.ops.map((o) => JSON.parse(o) as JournalOp)).toEqual([["p", "inodes", 10, dir(10, "a")]]);
    expect(r.journals[1]!.ops.map((o) => JSON.parse(o) as JournalOp)).toEqual([["r", "inodes", 10]]);
    expect(store.inodes.get(11)).toBeUndefined();
    expect(store.appliedSeq).toBe(2);
    // Refused before anything is done when this NameNode may not write.
    r.setWritable(false);
    await expect(store.write(() => store.inodes.put(12, dir(12, "c")))).rejects.toThrow("standby");
    expect(store.inodes.get(12)).toBeUndefined();
  });

  it("a follower applying the journals, or loading a snapshot, ends with the same records and seq", async () => {
    const { store: active } = await openTestStore();
    const { store: follower } = await openTestStore();
    const { store: fresh } = await openTestStore();
    const r = replicator();
    active.setReplicator(r);
    await active.write(() => active.inodes.put(10, dir(10, "a")));
    await active.write(() => {
      active.inodes.put(11, dir(11, "b"));
      active.children.put([1, "b"], 11);
    });
    await active.write(() => active.inodes.remove(10));
    await follower.applyEntries(r.journals.map((j) => ({ seq: j.seq, epoch: j.epoch, ops: j.ops.map((o) => JSON.parse(o) as JournalOp) })));
    expect(follower.appliedSeq).toBe(3);
    expect(follower.appliedEpoch).toBe(7);
    expect(follower.inodes.get(10)).toBeUndefined();
    expect(follower.inodes.get(11)).toEqual(dir(11, "b"));
    expect(follower.children.get([1, "b"])).toBe(11);
    // Out of order is refused, and changes nothing.
    await expect(follower.applyEntries([{ seq: 9, epoch: 7, ops: [["r", "inodes", 11]] }])).rejects.toThrow(/does not follow 3/);
    expect(follower.inodes.get(11)).toEqual(dir(11, "b"));

    const snap = await active.snapshot();
    const rows = [...snap.lines()].map((l) => JSON.parse(l) as [string, Key, unknown]);
    snap.done();
    expect(snap.seq).toBe(3);
    await fresh.loadSnapshot(snap.seq, snap.epoch, rows);
    expect(fresh.appliedSeq).toBe(3);
    expect(fresh.clusterId).toBe(active.clusterId);
    expect(fresh.inodes.get(11)).toEqual(dir(11, "b"));
    expect(fresh.inodes.get(10)).toBeUndefined();
  });

  it("takes back, newest first, the writes that never reached the log", async () => {
    const { store } = await openTestStore();
    const journals: Journal[] = [];
    store.setReplicator({ checkWritable: () => 3, append: async (j) => void journals.push(j), lost: () => undefined });
    await store.write(() => store.inodes.put(10, dir(10, "kept")));
    store.appended(1);
    await store.write(() => store.inodes.put(10, dir(10, "renamed")));
    await store.write(() => {
      store.inodes.remove(10);
      store.inodes.put(11, dir(11, "new"));
    });
    expect(store.appliedSeq).toBe(3);
    expect(await store.rollbackUnappended()).toBe(2);
    expect(store.appliedSeq).toBe(1);
    expect(store.inodes.get(10)).toEqual(dir(10, "kept"));
    expect(store.inodes.get(11)).toBeUndefined();
    expect(await store.rollbackUnappended()).toBe(0);
  });
});
