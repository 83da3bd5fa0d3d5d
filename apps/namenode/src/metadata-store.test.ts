import { open, type Key, type RootDatabase } from "lmdb";
import { describe, expect, it } from "vitest";
import { openTestStore } from "../test/test-store.js";
import { MetadataStore, type ChunkRecord, type InodeRecord, type Journal, type JournalOp } from "./metadata-store.js";

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

describe("MetadataStore shared record structures", () => {
  const STRUCTURES = Symbol.for("structures");
  const inode = (id: number, extra: Record<string, unknown> = {}): InodeRecord => ({
    id, parentId: 1, name: `f${id}`, type: "file", mtimeMs: 5, size: 4096, replication: 3, chunkSize: 64, chunkIds: [`c${id}`], ...extra,
  });
  const chunk = (chunkId: string, extra: Record<string, unknown> = {}): ChunkRecord => ({ chunkId, inodeId: 7, index: 0, offset: 0, length: 4096, ...extra });
  const saved = (store: MetadataStore): string[][] => (store.inodes.get(STRUCTURES as unknown as number) as unknown as string[][] | undefined) ?? [];
  const reopen = async (store: MetadataStore, dir: string) => {
    await store.close();
    return MetadataStore.open(dir);
  };

  it("stores a record by a structure byte instead of its field names; shapes past a table's 32 stay inline and read back", async () => {
    const { store: first, dir } = await openTestStore();
    await first.write(() => first.inodes.put(10, inode(10, { attributes: { etag: "e", "content-type": "text/plain" } })));
    // Inline, this record's field names alone take about 90 bytes.
    expect(first.inodes.getBinary(10)!.length).toBeLessThan(70);
    expect(saved(first).flat()).toContain("chunkIds");
    // Users choose attribute names: 40 more shapes, beyond the 32 shared ones.
    await first.write(() => {
      for (let i = 0; i < 40; i++) first.inodes.put(100 + i, inode(100 + i, { attributes: { [`label-${i}`]: "x" } }));
    });
    expect(saved(first).length).toBeLessThanOrEqual(32);
    // The structures key is not a chunk, nor a row of a listing.
    await first.write(() => first.chunks.put("c1", chunk("c1")));
    expect(first.chunks.doesExist(STRUCTURES as unknown as string)).toBe(true);
    expect(first.chunkCount()).toBe(1);
    expect([...first.inodes.getKeys({ end: 100 })]).toEqual([1, 10]);
    const store = await reopen(first, dir);
    try {
      expect(store.inodes.get(10)).toEqual(inode(10, { attributes: { etag: "e", "content-type": "text/plain" } }));
      for (let i = 0; i < 40; i++) expect(store.inodes.get(100 + i)).toEqual(inode(100 + i, { attributes: { [`label-${i}`]: "x" } }));
    } finally {
      await store.close();
    }
  });

  it("a write that throws after saving a new structure leaves no record naming it: later records of that shape read back after a restart", async () => {
    const { store: first, dir } = await openTestStore();
    // In one batch of writes, then in a write of its own: the shape must be saved anew, not taken from memory.
    const [refused] = await Promise.allSettled([
      first.write(() => {
        first.chunks.put("c1", chunk("c1", { checksum: 9 }));
        throw new Error("refused");
      }),
      first.write(() => first.chunks.put("c2", chunk("c2", { checksum: 10 }))),
    ]);
    expect(refused.status).toBe("rejected");
    await expect(first.write(() => {
      first.chunks.put("c4", chunk("c4", { uploadId: "u" }));
      throw new Error("refused");
    })).rejects.toThrow("refused");
    await first.write(() => first.chunks.put("c3", chunk("c3", { uploadId: "u" })));
    const store = await reopen(first, dir);
    try {
      expect(store.chunks.get("c1")).toBeUndefined();
      expect(store.chunks.get("c2")).toEqual(chunk("c2", { checksum: 10 }));
      expect(store.chunks.get("c3")).toEqual(chunk("c3", { uploadId: "u" }));
    } finally {
      await store.close();
    }
  });

  it("reads back whole a metadata file written before shared structures, beside records written after", async () => {
    const { store: first, dir } = await openTestStore();
    await first.close();
    // The old way: the same tables without a structures key, each record carrying its own definition.
    const old = open({ path: `${dir}/metadata.mdb`, maxDbs: 32 });
    const oldInodes = old.openDB<InodeRecord, number>({ name: "inodes", encoding: "msgpack", keyEncoding: "ordered-binary" });
    await old.transaction(() => {
      oldInodes.put(20, inode(20));
      oldInodes.put(21, inode(21, { attributes: { a: "1" } }));
      oldInodes.put(22, { ...inode(22), type: "dir" });
    });
    await old.close();
    let store = await MetadataStore.open(dir);
    try {
      await store.write(() => {
        store.inodes.put(30, inode(30, { attributes: { b: "2" } }));
        store.inodes.put(31, inode(31));
      });
      store = await reopen(store, dir);
      expect(store.inodes.get(20)).toEqual(inode(20));
      expect(store.inodes.get(21)).toEqual(inode(21, { attributes: { a: "1" } }));
      expect(store.inodes.get(30)).toEqual(inode(30, { attributes: { b: "2" } }));
      expect(store.inodes.get(31)).toEqual(inode(31));
      expect([...store.inodes.getRange({ start: 20 })].map((e) => e.value)).toEqual([
        inode(20), inode(21, { attributes: { a: "1" } }), { ...inode(22), type: "dir" }, inode(30, { attributes: { b: "2" } }), inode(31),
      ]);
    } finally {
      await store.close();
    }
  });

  it("HA: structures are never journaled, and taking back unlogged writes keeps them for the records that stay", async () => {
    const { store: first, dir } = await openTestStore();
    const journals: Journal[] = [];
    first.setReplicator({ checkWritable: () => 3, append: async (j) => void journals.push(j), lost: () => undefined });
    await first.write(() => first.inodes.put(10, inode(10)));
    first.appended(1);
    await first.write(() => first.chunks.put("c1", chunk("c1", { checksum: 1 })));
    expect(journals.flatMap((j) => j.ops)).toEqual([
      JSON.stringify(["p", "inodes", 10, inode(10)]),
      JSON.stringify(["p", "chunks", "c1", chunk("c1", { checksum: 1 })]),
    ]);
    expect(await first.rollbackUnappended()).toBe(1);
    await first.write(() => first.chunks.put("c2", chunk("c2", { checksum: 2 })));
    const store = await reopen(first, dir);
    try {
      expect(store.chunks.get("c1")).toBeUndefined();
      expect(store.chunks.get("c2")).toEqual(chunk("c2", { checksum: 2 }));
      expect(store.inodes.get(10)).toEqual(inode(10));
    } finally {
      await store.close();
    }
  });
});
