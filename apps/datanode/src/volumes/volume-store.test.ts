import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { VolumeStore, type CompactionStep } from "./volume-store.js";
import { STATE_OFFSET } from "./record.js";

const PIECE = 64 * 1024;
const dirs: string[] = [];
const stores: VolumeStore[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "trainfs-volumes-"));
  dirs.push(dir);
  return dir;
}

async function openStore(dir: string, settings: Parameters<typeof VolumeStore.open>[1] = {}): Promise<VolumeStore> {
  const s = await VolumeStore.open(dir, settings);
  stores.push(s);
  return s;
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function id(n: number): string {
  return n.toString(16).padStart(32, "0");
}

function piecesOf(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.byteLength; i += PIECE) out.push(crc32(data.subarray(i, i + PIECE)) >>> 0);
  return out;
}

async function put(store: VolumeStore, chunkId: string, data: Buffer) {
  return store.append(chunkId, data, piecesOf(data), PIECE);
}

async function read(store: VolumeStore, chunkId: string): Promise<Buffer | undefined> {
  const e = store.get(chunkId);
  if (!e) return undefined;
  const b = Buffer.alloc(e.length);
  expect(await store.readData(e, b, 0, e.length)).toBe(e.length);
  return b;
}

async function datasyncSpy() {
  const probe = await open(process.execPath, "r");
  const proto = Object.getPrototypeOf(probe) as { datasync: FileHandle["datasync"] };
  await probe.close();
  return vi.spyOn(proto, "datasync");
}

async function volumeFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe("VolumeStore", () => {
  it("keeps records, deletion marks and quarantine marks across a reopen (the index is rebuilt from the volumes)", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const data = [randomBytes(10), randomBytes(70_000), randomBytes(0), randomBytes(4096)];
    for (const [i, d] of data.entries()) await put(store, id(i), d);
    await store.markDead(store.get(id(1))!);
    await store.markQuarantined(store.get(id(3))!);
    await store.close();

    const again = await openStore(dir);
    expect((await read(again, id(0)))!.equals(data[0]!)).toBe(true);
    expect((await read(again, id(2)))!.length).toBe(0);
    expect(again.get(id(1))).toBeUndefined();
    expect(again.get(id(3))).toBeUndefined();
    expect(again.quarantinedIds()).toEqual([id(3)]);
    expect(again.get(id(0))!.checksum).toBe(crc32(data[0]!) >>> 0);
    expect(again.deadBytes).toBeGreaterThan(70_000);
  });

  it("group commit: appends queued in one turn share an fsync, those queued during it share the next, and none resolves before the fsync that covers it", async () => {
    const store = await openStore(await tempDir());
    const datasync = await datasyncSpy();
    /** The volume's end when each finished fsync started: what it covered. */
    const covered: number[] = [];
    const appends = (from: number) =>
      Array.from({ length: 32 }, async (_, k) => {
        const i = from + k;
        const e = await put(store, id(i), randomBytes(4096));
        expect(covered.at(-1), `record ${i} acknowledged before an fsync covered it`).toBeGreaterThanOrEqual(e.offset + e.headerBytes + e.length);
        return e.offset + e.headerBytes + e.length;
      });
    const later: Array<Promise<number>> = [];
    datasync.mockImplementation(async function (this: FileHandle) {
      const end = store.volumeStats().find((v) => v.active)!.size;
      // Appends that arrive while this fsync runs: they wait for the next one, not for a timer.
      if (later.length === 0) later.push(...appends(32));
      await new Promise((r) => setTimeout(r, 5));
      covered.push(end);
    });
    const firstEnds = await Promise.all(appends(0));
    const laterEnds = await Promise.all(later);
    expect(datasync.mock.calls.length).toBe(2);
    // The first fsync covered all 32 of the first turn, the second the 32 that came during it.
    expect(covered[0]).toBe(Math.max(...firstEnds));
    expect(covered[1]).toBe(Math.max(...laterEnds));
  });

  it("cuts a torn last record at every byte offset, keeping every earlier record", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const earlier = [randomBytes(5000), randomBytes(1), randomBytes(300)];
    for (const [i, d] of earlier.entries()) await put(store, id(i), d);
    const last = await put(store, id(9), randomBytes(200));
    const file = last.volume.path;
    const start = last.offset;
    const end = last.offset + last.headerBytes + last.length;
    await store.close();
    expect((await stat(file)).size).toBe(end);
    const work = await tempDir();
    for (let cut = start; cut < end; cut++) {
      const copy = join(work, String(cut));
      await rm(copy, { recursive: true, force: true });
      await mkdir(copy);
      const name = file.split("/").at(-1)!;
      await copyFile(file, join(copy, name));
      await truncate(join(copy, name), cut);
      const reopened = await VolumeStore.open(copy);
      try {
        expect(reopened.get(id(9)), `cut at ${cut}`).toBeUndefined();
        for (const [i, d] of earlier.entries()) expect((await read(reopened, id(i)))!.equals(d), `record ${i}, cut at ${cut}`).toBe(true);
        // The torn bytes are gone, so the next append starts where the last good record ended.
        expect((await stat(join(copy, name))).size, `cut at ${cut}`).toBe(start);
      } finally {
        await reopened.close();
      }
    }
  }, 60_000);

  it("cuts a last record whose bytes were never written (zeros in place of its data), but never damage inside acknowledged records", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const a = await put(store, id(1), randomBytes(3000));
    const aData = (await read(store, id(1)))!;
    await put(store, id(2), randomBytes(3000));
    const last = await put(store, id(3), randomBytes(3000));
    await store.close();
    const h = await open(last.volume.path, "r+");
    // The last record's data zeroed (a crash before its pages reached the disk) and a byte of the first record flipped (damage after it was acknowledged).
    await h.write(Buffer.alloc(3000), 0, 3000, last.offset + last.headerBytes);
    const byte = Buffer.alloc(1);
    await h.read(byte, 0, 1, a.offset + a.headerBytes + 10);
    await h.write(Buffer.of(byte[0]! ^ 0xff), 0, 1, a.offset + a.headerBytes + 10);
    await h.close();
    const again = await openStore(dir);
    expect(again.get(id(3))).toBeUndefined();
    expect(again.get(id(2))).toBeDefined();
    // Kept (the scrubber finds it and the replica is repaired), with its records after it.
    const damaged = (await read(again, id(1)))!;
    expect(damaged.equals(aData)).toBe(false);
    expect(damaged.length).toBe(aData.length);
  });

  it("skips a record whose header was damaged inside the volume and keeps those after it", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const a = await put(store, id(1), randomBytes(100));
    const bData = randomBytes(100);
    await put(store, id(2), bData);
    await put(store, id(3), randomBytes(100));
    await store.close();
    const h = await open(a.volume.path, "r+");
    await h.write(Buffer.of(0xee), 0, 1, a.offset + 20); // inside its chunk id: the header CRC fails
    await h.close();
    const again = await openStore(dir);
    expect(again.get(id(1))).toBeUndefined();
    expect((await read(again, id(2)))!.equals(bData)).toBe(true);
    expect(again.get(id(3))).toBeDefined();
  });

  it("loses no acknowledged record when the process is killed (SIGKILL) in the middle of appends", async () => {
    const dir = await tempDir();
    const child = fileURLToPath(new URL("./volume-crash-child.mjs", import.meta.url));
    const { dataOf } = (await import(child)) as { dataOf: (chunkId: string) => Buffer };
    for (let round = 0; round < 2; round++) {
      const proc = spawn(process.execPath, [child, dir], { stdio: ["ignore", "pipe", "inherit"] });
      const acked: string[] = [];
      let partial = "";
      await new Promise<void>((resolve, reject) => {
        proc.on("error", reject);
        proc.on("exit", () => resolve());
        proc.stdout.on("data", (b: Buffer) => {
          const lines = (partial + b.toString()).split("\n");
          partial = lines.pop()!;
          acked.push(...lines);
          if (acked.length >= 300 && !proc.killed) proc.kill("SIGKILL");
        });
      });
      expect(acked.length).toBeGreaterThanOrEqual(300);
      const store = await VolumeStore.open(dir);
      try {
        for (const chunkId of acked) {
          const got = await read(store, chunkId);
          expect(got, `acknowledged record ${chunkId}`).toBeDefined();
          expect(got!.equals(dataOf(chunkId)), `bytes of ${chunkId}`).toBe(true);
        }
      } finally {
        await store.close();
      }
    }
  }, 60_000);

  it("compacts a volume: live records moved, dead bytes given back, deletes made during the copy kept", async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { compactMinDeadBytes: 1, compactDeadRatio: 0.5, compactBytesPerSecond: 200_000 });
    const data = new Map<string, Buffer>();
    for (let i = 0; i < 40; i++) {
      const d = randomBytes(2000 + i);
      data.set(id(i), d);
      await put(store, id(i), d);
    }
    const before = store.volumeStats()[0]!;
    // Not yet at the ratio: nothing starts.
    for (let i = 0; i < 10; i++) await store.markDead(store.get(id(i))!);
    await store.compactionIdle();
    expect(store.compactions).toBe(0);
    const compaction = store.compact(before.number);
    // Deleted while the copy runs (it is throttled to 200 kB/s: ~0.4 s).
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 30; i < 40; i++) await store.markDead(store.get(id(i))!);
    // Reads go on while it copies and when the index moves over.
    let reads = 0;
    let copying = true;
    const reader = (async () => {
      while (copying) {
        for (let i = 10; i < 30; i++) {
          expect((await read(store, id(i)))!.equals(data.get(id(i))!), `read of ${i} during compaction`).toBe(true);
          reads++;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await compaction;
    copying = false;
    await reader;
    expect(reads).toBeGreaterThan(20);
    expect(store.reclaimedBytes).toBeGreaterThan(10 * 2000);
    const files = await volumeFiles(dir);
    expect(files).not.toContain(before.number.toString().padStart(8, "0") + ".vol");
    for (let i = 10; i < 30; i++) expect((await read(store, id(i)))!.equals(data.get(id(i))!)).toBe(true);
    await store.close();
    const again = await openStore(dir);
    for (let i = 0; i < 40; i++) {
      if (i >= 10 && i < 30) expect((await read(again, id(i)))!.equals(data.get(id(i))!)).toBe(true);
      else expect(again.get(id(i)), `deleted ${i}`).toBeUndefined();
    }
  });

  it("seals a full volume, and the delete that leaves it past the dead ratio starts its compaction on its own (no copy when nothing is left)", async () => {
    const dir = await tempDir();
    // Ratio 1: the compaction starts at the last delete, not while the test is still deleting.
    const store = await openStore(dir, { volumeMaxBytes: 20_000, compactMinDeadBytes: 1, compactDeadRatio: 1 });
    for (let i = 0; i < 12; i++) await put(store, id(i), randomBytes(3000));
    const stats = store.volumeStats();
    expect(stats.length).toBeGreaterThanOrEqual(2);
    const first = stats[0]!;
    const inFirst = [...Array(12).keys()].filter((i) => store.get(id(i))!.volume.number === first.number);
    expect(inFirst.length).toBeGreaterThan(1);
    for (const [k, i] of inFirst.entries()) {
      await store.markDead(store.get(id(i))!);
      if (k < inFirst.length - 1) expect(store.compactions).toBe(0);
    }
    await store.compactionIdle();
    expect(store.compactions).toBe(1);
    expect(store.volumeStats().map((v) => v.number)).not.toContain(first.number);
    expect(await volumeFiles(dir)).not.toContain(`${String(first.number).padStart(8, "0")}.vol`);
    expect(store.reclaimedBytes).toBe(first.size);
    for (let i = 0; i < 12; i++) if (!inFirst.includes(i)) expect(store.get(id(i))).toBeDefined();
  });

  const steps: CompactionStep[] = ["copying", "copied", "synced", "renamed", "switched", "removed"];
  for (const step of steps) {
    it(`a compaction stopped at step "${step}" leaves a state that reopening repairs, with no record lost`, async () => {
      const dir = await tempDir();
      // Never on its own (ratio 1): only the compaction the test starts.
      const store = await openStore(dir, { compactMinDeadBytes: 1, compactDeadRatio: 1 });
      const data = new Map<string, Buffer>();
      for (let i = 0; i < 20; i++) {
        const d = randomBytes(1000 + i);
        data.set(id(i), d);
        await put(store, id(i), d);
      }
      for (let i = 0; i < 12; i++) await store.markDead(store.get(id(i))!);
      await store.compactionIdle();
      expect(store.compactions).toBe(0);
      const number = store.volumeStats()[0]!.number;
      store.compactionHook = (s) => {
        if (s === step) throw new Error(`crash at ${s}`);
      };
      await expect(store.compact(number)).rejects.toThrow(`crash at ${step}`);
      await store.close();
      const again = await openStore(dir);
      for (let i = 0; i < 20; i++) {
        if (i >= 12) expect((await read(again, id(i)))?.equals(data.get(id(i))!), `record ${i}`).toBe(true);
        else expect(again.get(id(i)), `deleted ${i}`).toBeUndefined();
      }
      const files = await volumeFiles(dir);
      expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
      // Never both the compacted volume and the one it replaces.
      const numbers = again.volumeStats().map((v) => v.number);
      expect(numbers.includes(number) && numbers.some((n) => n > number + 1)).toBe(false);
      // And the store goes on: a new record, and the compaction run again.
      await put(again, id(99), randomBytes(10));
      expect(again.get(id(99))).toBeDefined();
    });
  }

  it("marks a record dead in place: one byte, and the rest of the record untouched", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const e = await put(store, id(1), randomBytes(500));
    const before = await readFile(e.volume.path);
    await store.markDead(e);
    const after = await readFile(e.volume.path);
    const diff = [...after.keys()].filter((i) => after[i] !== before[i]);
    expect(diff).toEqual([e.offset + STATE_OFFSET]);
  });
});
