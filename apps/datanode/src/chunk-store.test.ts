import { randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, rm, truncate, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { crc32Of } from "@trainfs/common";
import { ChunkStore } from "./chunk-store.js";

const dirs: string[] = [];
const stores: ChunkStore[] = [];
afterEach(async () => {
  // Closed here too when a test did not (closing twice is harmless): its volume files are open.
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function openStore(...args: Parameters<typeof ChunkStore.open>): Promise<ChunkStore> {
  const store = await ChunkStore.open(...args);
  stores.push(store);
  return store;
}
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
    const a = await openStore(await tempDir(), undefined, 1024);
    const b = await openStore(await tempDir(), undefined, 1024);
    const fsyncs: number[] = [];
    a.onFsync = (s) => fsyncs.push(s);
    await writeChunk(a, id(9), randomBytes(3000));
    expect(fsyncs).toHaveLength(1);
    expect(fsyncs[0]).toBeGreaterThanOrEqual(0);
    expect(await a.diskId()).toMatch(/^\d+$/);
    expect(await a.diskId()).toBe(await b.diskId());
  });

  it("stores a verified chunk under its final name and reads any range of it", async () => {
    const store = await openStore(await tempDir(), undefined, 1024);
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
    const store = await openStore(dir);
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
    const store = await openStore(dir);
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

    const reopened = await openStore(dir);
    const listed = (await reopened.list()).sort((x, y) => x.chunkId.localeCompare(y.chunkId));
    expect(listed).toEqual([
      { chunkId: id(5), length: 100, checksum: crc32Of(a) },
      { chunkId: id(6), length: 200, checksum: crc32Of(b) },
    ]);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
    expect(reopened.chunkCount).toBe(2);
    await expect(readdir(join(dir, "chunks", "00"))).resolves.not.toContain(`${id(11)}.meta`);
    await partial.abort(); // the "crashed" writer still holds its file open
  });

  it("refuses chunk ids that are not 32 hex digits (no path tricks)", async () => {
    const store = await openStore(await tempDir());
    await expect(store.createWriter("../../etc/passwd", 1)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(store.stat("ABC")).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("reports a chunk truncated on disk as data loss when read", async () => {
    const store = await openStore(await tempDir());
    await writeChunk(store, id(8), randomBytes(4000));
    await truncate(store.chunkPath(id(8)), 1000);
    await expect(readAll(store, id(8), 0, 4000)).rejects.toMatchObject({ code: "data_loss", reason: "its data file is shorter than 4000 bytes" });
  });

  it("caps free space at the configured capacity and refuses chunks that do not fit", async () => {
    const store = await openStore(await tempDir(), 10_000);
    await writeChunk(store, id(9), randomBytes(6000));
    expect(await store.space()).toEqual({ capacityBytes: 10_000, freeBytes: 4000 });
    await expect(store.createWriter(id(10), 5000)).rejects.toMatchObject({ code: "resource_exhausted" });
    await store.delete(id(9));
    expect((await store.space()).freeBytes).toBe(10_000);
  });

  it("drops a quarantined copy's bytes when a good copy is installed, also after a restart", async () => {
    const dir = await tempDir();
    const data = randomBytes(3000);
    let store = await openStore(dir);
    await writeChunk(store, id(7), data);
    await store.quarantine(id(7));
    expect(await readdir(join(dir, "chunks", id(7).slice(0, 2)))).toEqual([`${id(7)}.corrupt`]);
    await writeChunk(store, id(7), data);
    expect((await readdir(join(dir, "chunks", id(7).slice(0, 2)))).sort()).toEqual([id(7), `${id(7)}.meta`]);
    // Quarantined before a restart: the store finds the .corrupt file at start.
    await store.quarantine(id(7));
    store = await openStore(dir);
    expect(store.has(id(7))).toBe(false);
    await writeChunk(store, id(7), data);
    await expect(readdir(join(dir, "chunks", id(7).slice(0, 2)))).resolves.not.toContain(`${id(7)}.corrupt`);
  });

  it("never rewrites a stored chunk: a new writer is refused, and of two concurrent writes the second to install fails", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
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
    const store = await openStore(dir);
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
      const store = await openStore(await tempDir());
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
      const store = await openStore(dir);
      // After open, whose first volume's header is fsynced too.
      vi.spyOn(await handlePrototype(), "datasync").mockRejectedValueOnce(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
      store.syncBehindBytes = 4000;
      await expect(writeChunk(store, id(3), randomBytes(9000))).rejects.toThrow("EIO");
      expect(store.has(id(3))).toBe(false);
      expect(await readdir(join(dir, "tmp"))).toEqual([]);
    });
  });
});

describe("ChunkStore: packed chunks (the format hidden behind the same interface)", () => {
  const packed = (dir: string, pieceSize = 1024) => openStore(dir, undefined, pieceSize, { packedChunkMaxBytes: 64 * 1024 });

  it("packs chunks up to packedChunkMaxBytes into a volume, reads them whole and by range, and keeps larger ones as plain files", async () => {
    const dir = await tempDir();
    const store = await packed(dir);
    const small = randomBytes(10_000);
    const big = randomBytes(64 * 1024 + 1);
    const empty = Buffer.alloc(0);
    expect(await writeChunk(store, id(1), small)).toEqual({ chunkId: id(1), length: small.length, checksum: crc32Of(small) });
    await writeChunk(store, id(2), big);
    await writeChunk(store, id(3), empty);
    expect(store.isPacked(id(1))).toBe(true);
    expect(store.isPacked(id(3))).toBe(true);
    expect(store.isPacked(id(2))).toBe(false);
    expect(await readdir(join(dir, "chunks"))).toEqual([id(2).slice(0, 2)]);
    expect(await readdir(join(dir, "chunks", id(2).slice(0, 2)))).toEqual([id(2), `${id(2)}.meta`]);
    expect((await readAll(store, id(1), 0, small.length)).equals(small)).toBe(true);
    expect((await readAll(store, id(1), 3000, 2500)).equals(small.subarray(3000, 5500))).toBe(true);
    expect((await readAll(store, id(1), 9999, 1)).equals(small.subarray(9999))).toBe(true);
    expect(await readAll(store, id(3), 0, 0)).toHaveLength(0);
    expect(await store.stat(id(1))).toEqual({ chunkId: id(1), length: small.length, checksum: crc32Of(small) });
    expect(store.usedBytes).toBe(small.length + big.length);
    // A replica copy's source: the record's bytes.
    const source = store.source(id(1));
    expect(typeof source).toBe("function");
    const parts: Uint8Array[] = [];
    for await (const p of (source as (s: number, e: number) => AsyncIterable<Uint8Array>)(0, small.length)) parts.push(p);
    expect(Buffer.concat(parts).equals(small)).toBe(true);

    await store.close();
    const again = await packed(dir);
    expect((await again.list()).sort((a, b) => a.chunkId.localeCompare(b.chunkId))).toEqual([
      { chunkId: id(1), length: small.length, checksum: crc32Of(small) },
      { chunkId: id(2), length: big.length, checksum: crc32Of(big) },
      { chunkId: id(3), length: 0, checksum: 0 },
    ]);
    expect((await readAll(again, id(1), 0, small.length)).equals(small)).toBe(true);
    await again.close();
  });

  it("refuses a second write of a packed chunk (already_exists), concurrent ones too, and deletes it durably", async () => {
    const dir = await tempDir();
    const store = await packed(dir);
    await writeChunk(store, id(5), randomBytes(3000));
    await expect(store.createWriter(id(5), 3000)).rejects.toMatchObject({ code: "already_exists" });
    const data = randomBytes(2000);
    const [a, b] = await Promise.allSettled([writeChunk(store, id(6), data), writeChunk(store, id(6), data)]);
    expect([a.status, b.status].sort()).toEqual(["fulfilled", "rejected"]);
    expect(((a.status === "rejected" ? a : b) as PromiseRejectedResult).reason).toMatchObject({ code: "already_exists" });
    await store.delete(id(5));
    expect(store.has(id(5))).toBe(false);
    await expect(store.readVerified(id(5), 0, 1).next()).rejects.toMatchObject({ code: "data_loss" });
    await store.close();
    const again = await packed(dir);
    expect(again.has(id(5))).toBe(false);
    expect(again.has(id(6))).toBe(true);
    await again.close();
  });

  it("finds a flipped byte in a packed record's data or header, quarantines it (not reported after a restart), and takes a fresh copy", async () => {
    const dir = await tempDir();
    const store = await packed(dir);
    const data = randomBytes(5000);
    await writeChunk(store, id(7), data);
    await writeChunk(store, id(8), randomBytes(100));
    const e = store.volumes.get(id(7))!;
    const h = await open(e.volume.path, "r+");
    await h.write(Buffer.of(data[4321]! ^ 0x01), 0, 1, e.offset + e.headerBytes + 4321);
    const e8 = store.volumes.get(id(8))!;
    // Inside the header's piece checksums: the data still matches the index in memory, the header on disk does not.
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, e8.offset + 41);
    await h.write(Buffer.of(b[0]! ^ 0x10), 0, 1, e8.offset + 41);
    await h.close();
    expect(await store.verify(id(7))).toMatch(/checksum mismatch in piece 4/);
    expect(await store.verify(id(8))).toMatch(/record header .* is damaged/);
    await expect(readAll(store, id(7), 4300, 10)).rejects.toMatchObject({ code: "data_loss" });
    // Pieces not touched by the damage still read.
    expect((await readAll(store, id(7), 0, 1000)).equals(data.subarray(0, 1000))).toBe(true);
    await store.quarantine(id(7));
    expect(store.has(id(7))).toBe(false);
    expect((await store.list()).map((c) => c.chunkId)).toEqual([id(8)]);
    await store.close();
    let again = await packed(dir);
    expect(again.has(id(7))).toBe(false);
    expect(again.volumes.quarantinedIds()).toEqual([id(7)]);
    // A fresh copy replaces the quarantined record; trash of the chunk later removes it.
    await writeChunk(again, id(7), data);
    expect((await readAll(again, id(7), 0, data.length)).equals(data)).toBe(true);
    expect(again.volumes.quarantinedIds()).toEqual([]);
    await again.close();
    again = await packed(dir);
    expect((await readAll(again, id(7), 0, data.length)).equals(data)).toBe(true);
    await again.delete(id(7));
    await again.close();
    again = await packed(dir);
    expect(again.has(id(7))).toBe(false);
    expect(again.volumes.quarantinedIds()).toEqual([]);
    await again.close();
  });

  it("deletes a quarantined packed record when trash asks", async () => {
    const dir = await tempDir();
    const store = await packed(dir);
    await writeChunk(store, id(9), randomBytes(300));
    await store.quarantine(id(9));
    await store.delete(id(9));
    await store.close();
    const again = await packed(dir);
    expect(again.volumes.quarantinedIds()).toEqual([]);
    expect(again.has(id(9))).toBe(false);
    await again.close();
  });

  it("keeps chunks packed earlier readable when packing is turned off", async () => {
    const dir = await tempDir();
    const store = await packed(dir);
    const data = randomBytes(700);
    await writeChunk(store, id(10), data);
    await store.close();
    const plain = await openStore(dir, undefined, 1024, { packedChunkMaxBytes: 0 });
    expect((await readAll(plain, id(10), 0, data.length)).equals(data)).toBe(true);
    await writeChunk(plain, id(11), randomBytes(700));
    expect(plain.isPacked(id(11))).toBe(false);
    await plain.close();
  });
});
