import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, crc32Of } from "@trainfs/common";
import { ChunkStore } from "./chunk-store.js";
import { Scrubber } from "./scrubber.js";
import { TaskStore } from "./task-store.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const id = (n: number) => n.toString(16).padStart(32, "0");

async function setUp(packedChunkMaxBytes = 0) {
  const dir = await mkdtemp(join(tmpdir(), "trainfs-dn-scrub-"));
  const store = await ChunkStore.open(dir, undefined, undefined, { packedChunkMaxBytes });
  const tasks = TaskStore.open(dir);
  const condemned: Array<{ chunkId: string; reason: string }> = [];
  const scrubber = new Scrubber(tasks, store, async (chunkId, reason) => {
    condemned.push({ chunkId, reason });
    await store.quarantine(chunkId);
  }, { bytesPerSecond: 1024 ** 3, periodMs: 3_600_000 }, createLogger("test", "silent"));
  cleanups.push(async () => {
    await scrubber.stop();
    await store.close();
    await tasks.close();
    await rm(dir, { recursive: true, force: true });
  });
  const put = async (chunkId: string, data: Buffer) => {
    const w = await store.createWriter(chunkId, data.length);
    await w.write(data);
    return w.commit(crc32Of(data));
  };
  /** Resolves once every requested verification is done. */
  const settled = async () => {
    while (scrubber.pendingVerifications > 0) await new Promise((r) => setTimeout(r, 5));
  };
  return { dir, store, tasks, scrubber, condemned, put, settled };
}

describe("Scrubber: verifications the NameNode asks for", () => {
  it("condemns only replicas whose bytes or length fail the NameNode's record; good and unknown ones change nothing", async () => {
    const { store, scrubber, condemned, put, settled, tasks } = await setUp();
    const good = await put(id(1), randomBytes(200_000));
    const flipped = await put(id(2), randomBytes(200_000));
    const other = await put(id(3), randomBytes(1000));
    // A byte flipped on disk: its piece no longer matches the metadata.
    const handle = await open(store.chunkPath(id(2)), "r+");
    await handle.write(Buffer.from([0x55]), 0, 1, 150_000);
    await handle.close();
    scrubber.requestVerification([
      { chunkId: id(1), length: good.length, checksum: good.checksum },
      { chunkId: id(1), length: good.length, checksum: good.checksum }, // deduplicated
      { chunkId: id(2), length: flipped.length, checksum: flipped.checksum },
      // Self-consistent on disk, but not the bytes the NameNode recorded.
      { chunkId: id(3), length: other.length, checksum: (other.checksum ^ 1) >>> 0 },
      { chunkId: id(9), length: 10, checksum: 0 }, // not held here: ignored
      { chunkId: "../../etc/passwd", length: 10, checksum: 0 }, // not a chunk id: ignored
    ]);
    await settled();
    expect(condemned.map((c) => c.chunkId).sort()).toEqual([id(2), id(3)]);
    expect(condemned.find((c) => c.chunkId === id(2))!.reason).toMatch(/checksum mismatch in piece/);
    expect(condemned.find((c) => c.chunkId === id(3))!.reason).toMatch(/whole-chunk checksum mismatch/);
    expect(scrubber.requestedResults).toEqual({ good: 1, bad: 2 });
    expect(store.has(id(1))).toBe(true);
    expect(tasks.scrubbed.get(id(1))).toBeGreaterThan(0);
  });

  it("condemns a replica whose length differs from the record", async () => {
    const { scrubber, condemned, put, settled } = await setUp();
    const chunk = await put(id(4), randomBytes(5000));
    scrubber.requestVerification([{ chunkId: id(4), length: chunk.length + 1, checksum: chunk.checksum }]);
    await settled();
    expect(condemned).toEqual([{ chunkId: id(4), reason: expect.stringMatching(/5000 bytes, the NameNode's record 5001/) }]);
  });

  it("verifies a flood of the same request a bounded number of times", async () => {
    const { scrubber, condemned, put, settled } = await setUp();
    const chunk = await put(id(5), randomBytes(70_000));
    const request = { chunkId: id(5), length: chunk.length, checksum: chunk.checksum };
    for (let i = 0; i < 1000; i++) scrubber.requestVerification([request]);
    await settled();
    // At most the one under way and one queued behind it: never 1,000 reads.
    expect(scrubber.requestedResults.good).toBeGreaterThanOrEqual(1);
    expect(scrubber.requestedResults.good).toBeLessThanOrEqual(2);
    expect(condemned).toEqual([]);
  });
});

describe("Scrubber: packed chunks", () => {
  it("finds a flipped byte inside a packed record in its pass and quarantines the replica as a plain one (not served nor listed)", async () => {
    const { store, scrubber, condemned, put } = await setUp(1024 * 1024);
    const good = randomBytes(4096);
    await put(id(1), good);
    const bad = await put(id(2), randomBytes(200_000));
    await put(id(3), randomBytes(10));
    expect(store.isPacked(id(2))).toBe(true);
    const e = store.volumes.get(id(2))!;
    const handle = await open(e.volume.path, "r+");
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, e.offset + e.headerBytes + 150_000);
    await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, e.offset + e.headerBytes + 150_000);
    await handle.close();
    expect(await scrubber.runPass()).toBe(1);
    expect(condemned).toEqual([{ chunkId: id(2), reason: expect.stringMatching(/checksum mismatch in piece 2/) }]);
    expect(store.has(id(2))).toBe(false);
    expect((await store.list()).map((c) => c.chunkId).sort()).toEqual([id(1), id(3)]);
    expect(store.volumes.quarantinedIds()).toEqual([id(2)]);
    expect(bad.length).toBe(200_000);
    // The NameNode's "verify now" of a good packed replica changes nothing.
    const r = await store.stat(id(1));
    scrubber.requestVerification([{ chunkId: id(1), length: r!.length, checksum: r!.checksum }]);
    while (scrubber.pendingVerifications > 0) await new Promise((res) => setTimeout(res, 5));
    expect(scrubber.requestedResults).toEqual({ good: 1, bad: 0 });
  });
});

describe("Scrubber: keeping to its period", () => {
  it("says how far past due the oldest unverified chunk is during a pass, and 0 once every chunk is verified", async () => {
    const dir = await mkdtemp(join(tmpdir(), "trainfs-dn-scrub-"));
    const store = await ChunkStore.open(dir);
    const tasks = TaskStore.open(dir);
    let now = 1_000_000;
    const seen: number[] = [];
    const scrubber = new Scrubber(tasks, store, async () => {}, {
      bytesPerSecond: 1024 ** 3, periodMs: 60_000, onVerified: () => seen.push(scrubber.overdueSeconds),
    }, createLogger("test", "silent"), () => now);
    cleanups.push(async () => {
      await tasks.close();
      await rm(dir, { recursive: true, force: true });
    });
    for (const n of [1, 2]) {
      const data = randomBytes(1000);
      const w = await store.createWriter(id(n), data.length);
      await w.write(data);
      await w.commit(crc32Of(data));
    }
    expect(scrubber.overdueSeconds).toBe(0);
    // Never verified: due a period after the scrubber started; 5 s later than that it is 5 s behind.
    now += 65_000;
    await scrubber.runPass();
    expect(seen).toEqual([5, 5]);
    expect(scrubber.overdueSeconds).toBe(0);
  });
});
