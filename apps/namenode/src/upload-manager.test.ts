import { describe, expect, it } from "vitest";
import { Namespace } from "./namespace.js";
import type { UploadManager } from "./upload-manager.js";
import { testNameNode } from "../test/test-namenode.js";

const LEASE_MS = 1000;

async function setup(liveNodes = 4, minWriteReplicas = 3, uploadLeaseSoftMs = LEASE_MS) {
  const nn = await testNameNode({
    nodes: liveNodes,
    startMs: 10_000,
    free: () => 1e6,
    config: { defaultReplication: 3, maxReplication: 16, defaultChunkSize: 100, minChunkSize: 10, maxChunkSize: 1000, maxChunksPerFile: 50, uploadLeaseMs: LEASE_MS, uploadLeaseSoftMs, heartbeatTimeoutMs: 60_000, minWriteReplicas },
  });
  const { store, clock, datanodes, namespace, chunks, writes: uploads, files } = nn;
  const { map: chunkMap, trash, queue, replication } = chunks;
  const commit = (dn: string, r: { chunkId: string; length: number; checksum: number }) => store.write(() => chunkMap.commit(dn, r, clock.now));
  /** Commits every planned chunk on every node of its chain, as the pipeline would. */
  const commitAll = async (planned: Awaited<ReturnType<UploadManager["start"]>>, checksum = 7) => {
    for (const c of planned.chunks) {
      for (const dn of c.chain) await commit(dn, { chunkId: c.chunkId, length: c.length, checksum });
    }
    return planned.chunks.map((c) => ({ chunkId: c.chunkId, length: c.length, checksum }));
  };
  return { store, clock, datanodes, namespace, chunkMap, uploads, commitAll, commit, trash, queue, replication, files };
}

describe("UploadManager", () => {
  it("plans chunks on distinct nodes and spreads consecutive chunks by promised space", async () => {
    const { uploads } = await setup(4);
    const planned = await uploads.start("/d/f", 250, 0, 0);
    expect(planned.replication).toBe(3);
    expect(planned.chunks.map((c) => [c.index, c.offset, c.length])).toEqual([[0, 0, 100], [1, 100, 100], [2, 200, 50]]);
    for (const c of planned.chunks) expect(new Set(c.chain).size).toBe(3);
    // Four equal nodes: the node left out of chunk 0 leads chunk 1.
    const leftOut = ["dn-1", "dn-2", "dn-3", "dn-4"].find((id) => !planned.chunks[0]!.chain.includes(id));
    expect(planned.chunks[1]!.chain[0]).toBe(leftOut);
    expect(new Set(planned.chunks.map((c) => c.chunkId)).size).toBe(3);
  });

  it("makes the file visible only at confirm, with parents created", async () => {
    const { uploads, namespace, commitAll } = await setup();
    const planned = await uploads.start("/x/y/file", 150, 3, 100);
    expect(namespace.resolve(["x", "y", "file"])).toBeUndefined();
    expect(namespace.resolve(["x", "y"])?.type).toBe("dir");
    const inode = await uploads.confirm("/x/y/file", planned.uploadId, await commitAll(planned));
    expect(inode).toMatchObject({ type: "file", size: 150, replication: 3, chunkSize: 100 });
    expect(namespace.lookup("/x/y/file").chunkIds).toEqual(planned.chunks.map((c) => c.chunkId));
  });

  it("has the replication monitor look at a new file's chunks, so a copy from outside the final chain is trimmed", async () => {
    // A node of a failed chain may finish its copy and report it before the
    // client confirms on its replacement chain: one copy too many.
    const { uploads, commit, chunkMap, queue, replication, trash } = await setup(4);
    const planned = await uploads.start("/f", 50, 3, 100);
    const c = planned.chunks[0]!;
    const outsider = ["dn-1", "dn-2", "dn-3", "dn-4"].find((id) => !c.chain.includes(id))!;
    await commit(outsider, { chunkId: c.chunkId, length: 50, checksum: 7 });
    const receipts = c.chain.map((datanodeId) => ({ chunkId: c.chunkId, datanodeId }));
    await uploads.confirm("/f", planned.uploadId, [{ chunkId: c.chunkId, length: 50, checksum: 7 }], receipts);
    expect(chunkMap.replicas(c.chunkId)).toHaveLength(4);
    expect(queue.counts().surplus).toBe(1);
    await replication.runOnce();
    expect(chunkMap.replicas(c.chunkId)).toHaveLength(3);
    expect(queue.counts().surplus).toBe(0);
    // The trimmed copy is owed a deletion by the node that holds it.
    expect(["dn-1", "dn-2", "dn-3", "dn-4"].filter((id) => trash.has(id, c.chunkId))).toHaveLength(1);
  });

  it("refuses to confirm a chunk not committed by all its replicas", async () => {
    const { uploads, commit, namespace, store, trash } = await setup();
    const planned = await uploads.start("/f", 50, 3, 100);
    const c = planned.chunks[0]!;
    await commit(c.chain[0]!, { chunkId: c.chunkId, length: 50, checksum: 1 });
    await commit(c.chain[1]!, { chunkId: c.chunkId, length: 50, checksum: 1 });
    await expect(uploads.confirm("/f", planned.uploadId, [{ chunkId: c.chunkId, length: 50, checksum: 1 }])).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringContaining("has 2 replicas committed with checksum 00000001; it needs 3 of its 3"),
    });
    expect(namespace.resolve(["f"])).toBeUndefined();
    // A replica with other bytes than the client sent: the write is lost, and dropped.
    await commit(c.chain[2]!, { chunkId: c.chunkId, length: 50, checksum: 2 });
    await expect(uploads.confirm("/f", planned.uploadId, [{ chunkId: c.chunkId, length: 50, checksum: 1 }])).rejects.toMatchObject({
      code: "data_loss",
      message: expect.stringContaining("the DataNodes committed other bytes than the client sent"),
    });
    expect(namespace.resolve(["f"])).toBeUndefined();
    expect(store.uploads.get(planned.uploadId)).toBeUndefined();
    expect(trash.count()).toBe(3);
  });

  it("records the replicas that receipts vouch for in the confirm itself, beside those committed", async () => {
    const { uploads, commit, chunkMap, namespace } = await setup();
    const planned = await uploads.start("/r", 150, 3, 100);
    const [a, b] = planned.chunks as [(typeof planned.chunks)[0], (typeof planned.chunks)[0]];
    const digests = [
      { chunkId: a.chunkId, length: 100, checksum: 5 },
      { chunkId: b.chunkId, length: 50, checksum: 6 },
    ];
    // One node of chunk a committed itself; the rest come as receipts.
    await commit(a.chain[0]!, digests[0]!);
    const stored = [...a.chain.slice(1).map((datanodeId) => ({ chunkId: a.chunkId, datanodeId })), ...b.chain.map((datanodeId) => ({ chunkId: b.chunkId, datanodeId }))];
    // Receipts short of a chunk's replication do not make the file.
    await expect(uploads.confirm("/r", planned.uploadId, digests, stored.slice(0, -1))).rejects.toMatchObject({ code: "failed_precondition" });
    expect(namespace.resolve(["r"])).toBeUndefined();
    // A receipt for a chunk of another write is refused, whole.
    await expect(uploads.confirm("/r", planned.uploadId, digests, [...stored, { chunkId: "e".repeat(32), datanodeId: "dn-1" }])).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("not part of the write of /r"),
    });
    // A node the NameNode does not know proves nothing.
    await expect(uploads.confirm("/r", planned.uploadId, digests, [...stored.slice(0, -1), { chunkId: b.chunkId, datanodeId: "dn-unknown" }])).rejects.toMatchObject({
      code: "failed_precondition",
    });
    await uploads.confirm("/r", planned.uploadId, digests, stored);
    expect(namespace.lookup("/r").size).toBe(150);
    for (const [c, d] of [[a, digests[0]!], [b, digests[1]!]] as const) {
      const replicas = chunkMap.replicas(c.chunkId);
      expect(replicas.map((r) => r.datanodeId).sort()).toEqual([...c.chain].sort());
      for (const r of replicas) expect(r.replica).toMatchObject({ length: d.length, checksum: d.checksum });
    }
  });

  it("rejects confirms whose chunks do not match the plan", async () => {
    const { uploads, commitAll } = await setup();
    const planned = await uploads.start("/f", 150, 3, 100);
    const digests = await commitAll(planned);
    await expect(uploads.confirm("/f", planned.uploadId, digests.slice(1))).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(uploads.confirm("/f", "not-the-upload", digests)).rejects.toMatchObject({ code: "not_found" });
    await expect(uploads.confirm("/f", planned.uploadId, [digests[1]!, digests[0]!])).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("refuses an existing path, a second writer, and bad shapes", async () => {
    const { uploads, commitAll } = await setup();
    const first = await uploads.start("/f", 10, 3, 100);
    await expect(uploads.start("/f", 10, 3, 100)).rejects.toMatchObject({
      code: "aborted",
      message: expect.stringContaining("being written by another client"),
    });
    await uploads.confirm("/f", first.uploadId, await commitAll(first));
    await expect(uploads.start("/f", 10, 3, 100)).rejects.toMatchObject({ code: "already_exists" });
    await expect(uploads.start("/f/under-a-file", 10, 3, 100)).rejects.toMatchObject({ code: "failed_precondition" });
    await expect(uploads.start("/", 10, 3, 100)).rejects.toMatchObject({ code: "already_exists" });
    await expect(uploads.start("/g", 10, 17, 100)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(uploads.start("/g", 10, 3, 5)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(uploads.start("/g", 10_000, 3, 100)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("limit is 50") });
    await expect(uploads.start("relative", 10, 3, 100)).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("replaces conditionally: only the file named by attributes, time and size, checked again at confirm", async () => {
    const { uploads, namespace, commitAll, store } = await setup();
    const put = async (attributes: Record<string, string>, options: Parameters<UploadManager["start"]>[4] = {}) => {
      const planned = await uploads.start("/c", 50, 3, 100, { attributes, ...options });
      return { planned, confirm: async () => uploads.confirm("/c", planned.uploadId, await commitAll(planned)) };
    };
    await expect(put({ etag: "1" }, { overwrite: true, replaceOnly: { attributes: { etag: "0" } } })).rejects.toMatchObject({ code: "not_found" });
    await (await put({ etag: "1" })).confirm();
    const v1 = namespace.lookup("/c");
    await expect(put({ etag: "2" }, { replaceOnly: { attributes: { etag: "1" } } })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(put({ etag: "2" }, { overwrite: true, replaceOnly: { attributes: { etag: "9" } } })).rejects.toMatchObject({ code: "failed_precondition" });
    await expect(put({ etag: "2" }, { overwrite: true, replaceOnly: { attributes: {}, size: 51 } })).rejects.toMatchObject({ code: "failed_precondition" });
    // The file changes while a conditional write runs (another path's write moved onto it, say): refused at confirm, the new file kept.
    const a = await put({ etag: "2a" }, { overwrite: true, replaceOnly: { attributes: { etag: "1" }, mtimeMs: v1.mtimeMs, size: 50 } });
    await store.write(() => store.inodes.put(v1.id, { ...v1, attributes: { etag: "1b" } }));
    await expect(a.confirm()).rejects.toMatchObject({ code: "failed_precondition" });
    expect(namespace.lookup("/c").attributes).toEqual({ etag: "1b" });
    await uploads.abandon("/c", a.planned.uploadId);
    const b = await put({ etag: "2b" }, { overwrite: true, replaceOnly: { attributes: { etag: "1b" }, mtimeMs: v1.mtimeMs, size: 50 } });
    await b.confirm();
    expect(namespace.lookup("/c").attributes).toEqual({ etag: "2b" });
  });

  it("with existing_ancestor, neither starts nor confirms a write whose ancestor is missing, and never makes it", async () => {
    const { uploads, commitAll, namespace, files, store } = await setup();
    await expect(uploads.start("/bkt/a/f", 50, 3, 100, { existingAncestor: "/bkt" })).rejects.toMatchObject({ code: "not_found", message: expect.stringContaining("/bkt") });
    expect(new Namespace(store).resolve(["bkt"])).toBeUndefined();
    for (const above of ["/", "/bkt/a/f", "/other", "/bkt/b", "/bk"]) {
      await expect(uploads.start("/bkt/a/f", 50, 3, 100, { existingAncestor: above })).rejects.toMatchObject({ code: "invalid_argument" });
    }
    await files.mkdir("/bkt", false);
    // Directories below the ancestor are made as needed.
    const kept = await uploads.start("/bkt/a/f", 50, 3, 100, { existingAncestor: "/bkt" });
    await uploads.confirm("/bkt/a/f", kept.uploadId, await commitAll(kept));
    expect(namespace.lookup("/bkt/a/f").size).toBe(50);
    // The ancestor deleted while a write runs (DeleteBucket): the confirm is refused and does not make it again.
    const late = await uploads.start("/bkt/g", 50, 3, 100, { existingAncestor: "/bkt" });
    await files.delete("/bkt", true);
    await expect(uploads.confirm("/bkt/g", late.uploadId, await commitAll(late))).rejects.toMatchObject({ code: "not_found" });
    expect(new Namespace(store).resolve(["bkt"])).toBeUndefined();
    await uploads.abandon("/bkt/g", late.uploadId);
    expect([...store.uploads.getKeys()]).toEqual([]);
  });

  it("leaves nothing behind when too few DataNodes are live", async () => {
    const { uploads, store, datanodes } = await setup(2);
    await expect(uploads.start("/p/f", 10, 3, 100)).rejects.toMatchObject({
      code: "failed_precondition",
      message: "replication 3 needs 3 live DataNodes, but 2 are live and in service",
    });
    expect([...store.uploads.getKeys()]).toEqual([]);
    expect([...store.chunks.getKeys()]).toEqual([]);
    expect(new Namespace(store).resolve(["p"])).toBeUndefined();
    expect(datanodes.placementNodes().every((c) => c.available === 1e6)).toBe(true);
  });

  it("writes with fewer live DataNodes than the replication, down to minWriteReplicas, and the monitor tops it up", async () => {
    const { uploads, commitAll, namespace, queue } = await setup(2, 2);
    const planned = await uploads.start("/f", 150, 3, 100);
    for (const c of planned.chunks) expect(c.chain).toHaveLength(2);
    const file = await uploads.confirm("/f", planned.uploadId, await commitAll(planned));
    // The file keeps its target: it shows as under-replicated until copies are made.
    expect(file.replication).toBe(3);
    expect(namespace.lookup("/f").replication).toBe(3);
    expect(queue.counts().underReplicated).toBe(2);
  });

  it("refuses a write when fewer DataNodes than minWriteReplicas are live, leaving nothing", async () => {
    const { uploads, store } = await setup(1, 2);
    await expect(uploads.start("/p/f", 10, 3, 100)).rejects.toMatchObject({
      code: "failed_precondition",
      message: "replication 3 needs at least 2 live DataNodes (minWriteReplicas), but 1 is live and in service",
    });
    expect([...store.uploads.getKeys()]).toEqual([]);
    // Replication 1 needs one node only.
    await uploads.start("/p/g", 10, 1, 100);
  });

  it("abandon frees the path, forgets the chunks and sends written copies to trash", async () => {
    const { uploads, store, commitAll, trash } = await setup();
    const planned = await uploads.start("/f", 150, 3, 100);
    await commitAll(planned);
    await uploads.abandon("/f", planned.uploadId);
    expect([...store.chunks.getKeys()]).toEqual([]);
    expect([...store.replicas.getKeys()]).toEqual([]);
    expect(trash.count()).toBe(6);
    for (const c of planned.chunks) for (const dn of c.chain) expect(trash.has(dn, c.chunkId)).toBe(true);
    const again = await uploads.start("/f", 150, 3, 100);
    expect(again.uploadId).not.toBe(planned.uploadId);
  });

  it("lets a new writer take over a path whose upload is idle past its lease", async () => {
    const { uploads, clock, store } = await setup();
    const stale = await uploads.start("/f", 50, 3, 100);
    clock.now += LEASE_MS + 1;
    const fresh = await uploads.start("/f", 50, 3, 100);
    expect(store.uploads.get(stale.uploadId)).toBeUndefined();
    expect(store.uploadsByPath.get("/f")).toBe(fresh.uploadId);
    await expect(uploads.abandon("/f", stale.uploadId)).rejects.toMatchObject({ code: "not_found" });
  });

  it("lets a new writer take over past the soft limit, long before the NameNode abandons the write itself", async () => {
    const { uploads, clock, store } = await setup(4, 3, LEASE_MS / 4);
    const stale = await uploads.start("/f", 50, 3, 100);
    expect(stale.leaseMs).toBe(LEASE_MS / 4); // what the writer renews against
    clock.now += LEASE_MS / 4 - 10;
    await expect(uploads.start("/f", 50, 3, 100)).rejects.toMatchObject({ code: "aborted", message: expect.stringContaining("being written by another client") });
    expect(store.uploads.get(stale.uploadId)).toBeDefined();
    clock.now += 20; // past the soft limit, far from the hard one
    const fresh = await uploads.start("/f", 50, 3, 100);
    expect(store.uploadsByPath.get("/f")).toBe(fresh.uploadId);
    expect(store.uploads.get(stale.uploadId)).toBeUndefined();
  });

  it("confirms an empty file with no chunks and no DataNodes", async () => {
    const { uploads } = await setup(0);
    const planned = await uploads.start("/empty", 0, 3, 100);
    expect(planned.chunks).toEqual([]);
    expect(await uploads.confirm("/empty", planned.uploadId, [])).toMatchObject({ size: 0, chunkIds: [] });
  });
});
