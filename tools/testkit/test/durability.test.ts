import { readFileSync, readlinkSync, realpathSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cluster, workDir } from "./helpers.js";

/** The paths of every fsync made in this process (DataNodes and client alike) while `run` runs. */
async function recordSyncs(run: () => Promise<unknown>): Promise<string[]> {
  const synced: string[] = [];
  const probe = await open(process.execPath, "r");
  const handleProto = Object.getPrototypeOf(probe) as { sync: (this: FileHandle) => Promise<void> };
  await probe.close();
  const sync = handleProto.sync;
  handleProto.sync = async function (this: FileHandle) {
    const path = readlinkSync(`/proc/self/fd/${this.fd}`);
    await sync.call(this);
    synced.push(path);
  };
  try {
    await run();
    return [...synced];
  } finally {
    handleProto.sync = sync;
  }
}

/**
 * The durability contract, observed: every fsync the DataNodes (in this
 * process) make is recorded with the path it covered, and when a put is
 * acknowledged each replica's chunk file, its metadata file and the directory
 * entry of its final name must be among them.
 */
describe("durability: an acknowledged put, and the local copy a get makes", () => {
  it("is acknowledged only once every replica's data, metadata and directory entry are fsynced", async () => {
    const c = await cluster({ dataNodes: 3 });
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
