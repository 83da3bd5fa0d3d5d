import { randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, rm, truncate, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { crc32Of } from "@trainfs/common";
import { ChunkStore } from "./chunk-store.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), "trainfs-dn-"));
  dirs.push(d);
  return d;
}
const id = (n: number) => n.toString(16).padStart(32, "0");

async function writeChunk(store: ChunkStore, chunkId: string, data: Buffer, checksum = crc32Of(data)) {
  const w = await store.createWriter(chunkId, data.length);
  for (let i = 0; i < data.length; i += 1000) await w.write(data.subarray(i, i + 1000));
  try {
    return await w.commit(checksum);
  } catch (err) {
    await w.abort(); // as the pipeline does
    throw err;
  }
}

/** The bytes [offset, offset + length), trimmed from the whole verified pieces the store hands out. */
async function readAll(store: ChunkStore, chunkId: string, offset: number, length: number) {
  const parts: Buffer[] = [];
  let start = -1;
  for await (const p of store.readVerified(chunkId, offset, length)) {
    if (start < 0) start = p.offset;
    expect(p.offset % store.pieceSize).toBe(0);
    expect(p.checksums).toHaveLength(Math.ceil(p.data.length / store.pieceSize));
    parts.push(p.data);
  }
  return Buffer.concat(parts).subarray(offset - Math.max(start, 0), offset - Math.max(start, 0) + length);
}

describe("ChunkStore", () => {
  it("times each chunk's final fsync and names its disk by st_dev, the same for two stores on one filesystem", async () => {
    const a = await ChunkStore.open(await tempDir(), undefined, 1024);
    const b = await ChunkStore.open(await tempDir(), undefined, 1024);
    const fsyncs: number[] = [];
    a.onFsync = (s) => fsyncs.push(s);
    await writeChunk(a, id(9), randomBytes(3000));
    expect(fsyncs).toHaveLength(1);
    expect(fsyncs[0]).toBeGreaterThanOrEqual(0);
    expect(await a.diskId()).toMatch(/^\d+$/);
    expect(await a.diskId()).toBe(await b.diskId());
  });

  it("stores a verified chunk under its final name and reads any range of it", async () => {
    const store = await ChunkStore.open(await tempDir(), undefined, 1024);
    const data = randomBytes(5000);
    expect(await writeChunk(store, id(1), data)).toEqual({ chunkId: id(1), length: 5000, checksum: crc32Of(data) });
    expect(await store.stat(id(1))).toEqual({ chunkId: id(1), length: 5000, checksum: crc32Of(data) });
    expect((await readAll(store, id(1), 0, 5000)).equals(data)).toBe(true);
    expect((await readAll(store, id(1), 1234, 100)).equals(data.subarray(1234, 1334))).toBe(true);
    // Across a piece boundary (pieces of 1 KiB here).
    expect((await readAll(store, id(1), 1000, 2100)).equals(data.subarray(1000, 3100))).toBe(true);
    expect(store.chunkCount).toBe(1);
  });

  it("keeps nothing under the final name when the checksum or length is wrong", async () => {
    const dir = await tempDir();
    const store = await ChunkStore.open(dir);
    const data = randomBytes(3000);
    await expect(writeChunk(store, id(2), data, crc32Of(data) ^ 1)).rejects.toMatchObject({ code: "data_loss" });
    const short = await store.createWriter(id(3), 10);
    await short.write(Buffer.alloc(5));
    await expect(short.commit(0)).rejects.toMatchObject({ code: "invalid_argument" });
    await short.abort();
    const long = await store.createWriter(id(4), 10);
    await expect(long.write(Buffer.alloc(11))).rejects.toMatchObject({ code: "invalid_argument" });
    await long.abort();
    expect(await store.stat(id(2))).toBeUndefined();
    expect(await store.stat(id(3))).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
  });

  it("lists chunks after a restart, drops partial writes, and rebuilds missing metadata", async () => {
    const dir = await tempDir();
    const store = await ChunkStore.open(dir);
    const a = randomBytes(100);
    const b = randomBytes(200);
    await writeChunk(store, id(5), a);
    await writeChunk(store, id(6), b);
    const partial = await store.createWriter(id(7), 50);
    await partial.write(Buffer.alloc(20)); // the process "crashes" here
    await rm(`${store.chunkPath(id(6))}.meta`);
    await writeFile(join(dir, "chunks", "stray-file"), "not a chunk");
    const orphanMeta = `${store.chunkPath(id(11))}.meta`;
    await writeFile(orphanMeta, JSON.stringify({ length: 1, checksum: 1 }));

    const reopened = await ChunkStore.open(dir);
    const listed = (await reopened.list()).sort((x, y) => x.chunkId.localeCompare(y.chunkId));
    expect(listed).toEqual([
      { chunkId: id(5), length: 100, checksum: crc32Of(a) },
      { chunkId: id(6), length: 200, checksum: crc32Of(b) },
    ]);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
    expect(reopened.chunkCount).toBe(2);
    await expect(readdir(join(dir, "chunks", "00"))).resolves.not.toContain(`${id(11)}.meta`);
  });

  it("refuses chunk ids that are not 32 hex digits (no path tricks)", async () => {
    const store = await ChunkStore.open(await tempDir());
    await expect(store.createWriter("../../etc/passwd", 1)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(store.stat("ABC")).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("reports a chunk truncated on disk as data loss when read", async () => {
    const store = await ChunkStore.open(await tempDir());
    await writeChunk(store, id(8), randomBytes(4000));
    await truncate(store.chunkPath(id(8)), 1000);
    await expect(readAll(store, id(8), 0, 4000)).rejects.toMatchObject({ code: "data_loss", reason: "its data file is shorter than 4000 bytes" });
  });

  it("caps free space at the configured capacity and refuses chunks that do not fit", async () => {
    const store = await ChunkStore.open(await tempDir(), 10_000);
    await writeChunk(store, id(9), randomBytes(6000));
    expect(await store.space()).toEqual({ capacityBytes: 10_000, freeBytes: 4000 });
    await expect(store.createWriter(id(10), 5000)).rejects.toMatchObject({ code: "resource_exhausted" });
    await store.delete(id(9));
    expect((await store.space()).freeBytes).toBe(10_000);
  });

  it("drops a quarantined copy's bytes when a good copy is installed, also after a restart", async () => {
    const dir = await tempDir();
    const data = randomBytes(3000);
    let store = await ChunkStore.open(dir);
    await writeChunk(store, id(7), data);
    await store.quarantine(id(7));
    expect(await readdir(join(dir, "chunks", id(7).slice(0, 2)))).toEqual([`${id(7)}.corrupt`]);
    await writeChunk(store, id(7), data);
    expect((await readdir(join(dir, "chunks", id(7).slice(0, 2)))).sort()).toEqual([id(7), `${id(7)}.meta`]);
    // Quarantined before a restart: the store finds the .corrupt file at start.
    await store.quarantine(id(7));
    store = await ChunkStore.open(dir);
    expect(store.has(id(7))).toBe(false);
    await writeChunk(store, id(7), data);
    await expect(readdir(join(dir, "chunks", id(7).slice(0, 2)))).resolves.not.toContain(`${id(7)}.corrupt`);
  });

  it("never rewrites a stored chunk: a new writer is refused, and of two concurrent writes the second to install fails", async () => {
    const dir = await tempDir();
    const store = await ChunkStore.open(dir);
    const first = randomBytes(3000);
    await writeChunk(store, id(5), first);
    await expect(store.createWriter(id(5), 3000)).rejects.toMatchObject({ code: "already_exists" });
    expect(await readAll(store, id(5), 0, 3000)).toEqual(first);

    // Both writers start before either installs (the header check passes for both).
    const a = randomBytes(2000);
    const b = randomBytes(2000);
    const wa = await store.createWriter(id(6), 2000);
    const wb = await store.createWriter(id(6), 2000);
    await wa.write(a);
    await wb.write(b);
    const outcomes = await Promise.allSettled([wa.commit(crc32Of(a)), wb.commit(crc32Of(b))]);
    // Either may install first (their fsyncs race); exactly one does, and the other is refused.
    const winner = outcomes.findIndex((o) => o.status === "fulfilled");
    expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(outcomes[1 - winner]).toMatchObject({ status: "rejected", reason: { code: "already_exists" } });
    await (winner === 0 ? wb : wa).abort();
    expect(await readAll(store, id(6), 0, 2000)).toEqual(winner === 0 ? a : b);
    // The loser left nothing behind: one data file, one metadata file, an empty tmp/.
    expect((await readdir(join(dir, "chunks", id(6).slice(0, 2)))).filter((n) => n.startsWith(id(6))).sort()).toEqual([id(6), `${id(6)}.meta`]);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
    expect(store.usedBytes).toBe(5000);
  });

  it("makes a chunk directory again when it was removed behind its back", async () => {
    const dir = await tempDir();
    const store = await ChunkStore.open(dir);
    await writeChunk(store, id(1), randomBytes(100));
    await rm(join(dir, "chunks", id(1).slice(0, 2)), { recursive: true });
    // The first install into the vanished directory fails cleanly; the next one makes it again.
    await expect(writeChunk(store, id(2), randomBytes(100))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await store.stat(id(2))).toBeUndefined();
    await writeChunk(store, id(2), randomBytes(100));
    expect(await store.stat(id(2))).toMatchObject({ chunkId: id(2), length: 100 });
  });

  describe("sync behind writes", () => {
    async function handlePrototype(): Promise<{ datasync: FileHandle["datasync"] }> {
      const probe = await open(process.execPath, "r");
      await probe.close();
      return Object.getPrototypeOf(probe) as { datasync: FileHandle["datasync"] };
    }
    afterEach(() => vi.restoreAllMocks());

    it("starts flushing a chunk being received every syncBehindBytes, and not at all when 0", async () => {
      const store = await ChunkStore.open(await tempDir());
      const datasync = vi.spyOn(await handlePrototype(), "datasync");
      store.syncBehindBytes = 4000;
      const data = randomBytes(20_500);
      await writeChunk(store, id(1), data);
      // One flush at a time, each started once 4000 more bytes arrived: at most 5 here.
      expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(datasync.mock.calls.length).toBeLessThanOrEqual(5);
      expect((await readAll(store, id(1), 0, data.length)).equals(data)).toBe(true);

      datasync.mockClear();
      store.syncBehindBytes = 0;
      await writeChunk(store, id(2), randomBytes(20_500));
      expect(datasync).not.toHaveBeenCalled();
    });

    it("fails the commit when a background flush failed (the final fsync may not report it again)", async () => {
      const dir = await tempDir();
      const store = await ChunkStore.open(dir);
      // After open, whose first volume's header is fsynced too.
      vi.spyOn(await handlePrototype(), "datasync").mockRejectedValueOnce(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
      store.syncBehindBytes = 4000;
      await expect(writeChunk(store, id(3), randomBytes(9000))).rejects.toThrow("EIO");
      expect(store.has(id(3))).toBe(false);
      expect(await readdir(join(dir, "tmp"))).toEqual([]);
    });
  });
});
