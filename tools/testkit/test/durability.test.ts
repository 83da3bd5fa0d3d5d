import { fstatSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cluster, workDir } from "./helpers.js";

/** The paths of every fsync made in this process (DataNodes and client alike) while `run` runs. */
async function recordSyncs(run: () => Promise<unknown>): Promise<string[]> {
  return (await recordSyncsWithSizes(run)).map((s) => s.path);
}

/**
 * Every fsync and fdatasync made in this process while `run` runs, once
 * done: the path it covered and the file's size when it started (what it
 * made durable).
 */
async function recordSyncsWithSizes(run: () => Promise<unknown>): Promise<Array<{ path: string; size: number }>> {
  const synced: Array<{ path: string; size: number }> = [];
  const probe = await open(process.execPath, "r");
  const handleProto = Object.getPrototypeOf(probe) as { sync: (this: FileHandle) => Promise<void>; datasync: (this: FileHandle) => Promise<void> };
  await probe.close();
  const { sync, datasync } = handleProto;
  const recorded = (real: (this: FileHandle) => Promise<void>) =>
    async function (this: FileHandle) {
      const path = readlinkSync(`/proc/self/fd/${this.fd}`);
      const { size } = fstatSync(this.fd);
      await real.call(this);
      synced.push({ path, size });
    };
  handleProto.sync = recorded(sync);
  handleProto.datasync = recorded(datasync);
  try {
    await run();
    return [...synced];
  } finally {
    handleProto.sync = sync;
    handleProto.datasync = datasync;
  }
}

/**
 * The durability contract, observed: every fsync the DataNodes (in this
 * process) make is recorded with the path it covered, and when a put is
 * acknowledged each replica's chunk file, its metadata file and the directory
 * entry of its final name must be among them.
 */
describe("durability: an acknowledged put, and the local copy a get makes", () => {
  it("is acknowledged only once every replica's data, metadata and directory entry are fsynced (plain chunks)", async () => {
    const c = await cluster({ dataNodes: 3, dataNode: { packedChunkMaxBytes: 0 } });
    const acknowledged = await recordSyncs(() => c.client({ chunkSize: 1024 * 1024 }).writeFile("/durable", randomBytes(3 * 1024 * 1024 + 5)));
    const chunkIds = c.nameNode.namespace.lookup("/durable").chunkIds;
    expect(chunkIds).toHaveLength(4);
    for (let i = 0; i < 3; i++) {
      const tmp = join(realpathSync(c.dataNodeDir(i)), "tmp");
      for (const chunkId of chunkIds) {
        const written = acknowledged.filter((p) => p.startsWith(join(tmp, `${chunkId}.`)));
        expect(written.filter((p) => !p.endsWith(".meta")), `chunk ${chunkId} data on DataNode ${i}`).toHaveLength(1);
        expect(written.filter((p) => p.endsWith(".meta")), `chunk ${chunkId} metadata on DataNode ${i}`).toHaveLength(1);
        expect(acknowledged, `directory of chunk ${chunkId} on DataNode ${i}`).toContain(realpathSync(dirname(c.dataNode(i).store.chunkPath(chunkId))));
      }
    }
  });

  it("is acknowledged only once every replica's packed record, which is also its index entry, is fsynced (and its volume's name)", async () => {
    let c: Awaited<ReturnType<typeof cluster>> | undefined;
    const started = await recordSyncsWithSizes(async () => (c = await cluster({ dataNodes: 3 })));
    const acknowledged = await recordSyncsWithSizes(() => c!.client({ chunkSize: 1024 * 1024 }).writeFile("/packed", randomBytes(3 * 1024 * 1024 + 5)));
    const chunkIds = c!.nameNode.namespace.lookup("/packed").chunkIds;
    expect(chunkIds).toHaveLength(4);
    for (let i = 0; i < 3; i++) {
      const store = c!.dataNode(i).store;
      for (const chunkId of chunkIds) {
        const entry = store.volumes.get(chunkId);
        expect(entry, `chunk ${chunkId} packed on DataNode ${i}`).toBeDefined();
        const path = realpathSync(entry!.volume.path);
        const end = entry!.offset + entry!.headerBytes + entry!.length;
        // An fsync of its volume that started once the whole record was written, and finished before the put was acknowledged.
        expect(acknowledged.some((s) => s.path === path && s.size >= end), `record of chunk ${chunkId} on DataNode ${i} fsynced`).toBe(true);
        // The volume's name: fsynced into its directory when the volume was made.
        expect([...started, ...acknowledged].map((s) => s.path), `volume directory on DataNode ${i}`).toContain(realpathSync(dirname(entry!.volume.path)));
      }
      // No plain chunk file was made for them.
      expect(acknowledged.filter((s) => s.path.startsWith(join(realpathSync(c!.dataNodeDir(i)), "tmp")))).toEqual([]);
    }
  });

  it("flushes a get's local file only when asked (fsync), before it takes its name", async () => {
    const c = await cluster({ dataNodes: 3 });
    const dir = realpathSync(await workDir());
    const client = c.client({ chunkSize: 1024 * 1024 });
    await client.writeFile("/f", randomBytes(2 * 1024 * 1024 + 7));
    const local = (p: string) => p === dir || p.startsWith(`${dir}/`);
    expect((await recordSyncs(() => client.get("/f", join(dir, "plain")))).filter(local)).toEqual([]);
    const flushed = (await recordSyncs(() => client.get("/f", join(dir, "flushed"), { fsync: true }))).filter(local);
    // The hidden file before its rename to the target's name, then the directory holding that name.
    expect(flushed).toHaveLength(2);
    expect(flushed[0]).toMatch(new RegExp(`^${dir}/\\.flushed\\.trainfs-[0-9a-f]+\\.part$`));
    expect(flushed[1]).toBe(dir);
  });

  it("makes the names a first start creates durable: the NameNode's metadata, a DataNode's layout and identity", async () => {
    const base = await workDir();
    let c: Awaited<ReturnType<typeof cluster>> | undefined;
    const synced = await recordSyncs(async () => (c = await cluster({ dataNodes: 1, baseDir: base })));
    const real = realpathSync(base);
    const nn = join(real, "namenode");
    const dn = join(real, "datanode-1");
    // LMDB's own files, and the DataNode's identity, chunks/ and tmp/, by their directories' fsyncs.
    for (const path of [join(nn, "metadata.mdb"), nn, join(dn, "tasks.mdb"), dn]) expect(synced, path).toContain(path);
    // The cluster id, written when the DataNode first registered, by a second fsync of its directory.
    expect(readFileSync(join(dn, "cluster-id"), "utf8").trim()).toBe(c!.nameNode.parts.store.clusterId);
    expect(synced.filter((p) => p === dn)).toHaveLength(2);
  });
});
