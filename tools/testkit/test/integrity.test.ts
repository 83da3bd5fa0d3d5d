import { open, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { randomFile, sha256File, type MiniCluster } from "../src/index.js";
import { chunkLocations, cluster, eventually, holdersOnDisk, flipByte, flipReplicaByte, workDir } from "./helpers.js";

const CHUNK = 256 * 1024;
const FAST = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 };

async function putFile(c: MiniCluster, size: number, path = "/f") {
  const dir = await workDir();
  await randomFile(join(dir, "in"), size);
  await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), path);
  return { dir, local: join(dir, "in"), sha: await sha256File(join(dir, "in")) };
}

/** A plain chunk file's path (tests of damage to plain files run with packing off). */
function chunkPath(c: MiniCluster, node: number, chunkId: string) {
  return join(c.dataNodeDir(node), "chunks", chunkId.slice(0, 2), chunkId);
}

function nodeOf(c: MiniCluster, address: string): number {
  return [...Array(c.dataNodeCount).keys()].find((i) => c.isRunning(i) && c.dataNodeAddress(i) === address)!;
}

/** Every chunk of `path` has 3 good replicas, fsck is clean, and no quarantined file or packed record is left on any disk. */
async function expectHealed(c: MiniCluster, path: string) {
  const report = await c.client().fsck(path);
  expect(report.healthy).toBe(true);
  expect(report.underReplicatedChunks).toBe(0);
  for (const l of await chunkLocations(c, path)) {
    expect(l.replicas).toHaveLength(3);
    expect((await holdersOnDisk(c, l.chunkId)).length).toBe(3);
  }
  for (let i = 0; i < c.dataNodeCount; i++) {
    for (const prefix of await readdir(join(c.dataNodeDir(i), "chunks"))) {
      expect((await readdir(join(c.dataNodeDir(i), "chunks", prefix))).filter((n) => n.endsWith(".corrupt"))).toEqual([]);
    }
    expect([...(await c.packedRecords(i)).values()].filter((r) => r.state === "quarantined")).toEqual([]);
  }
}

describe("end-to-end integrity", () => {
  it("reads correct bytes past a flipped byte, and replaces the bad replica", async () => {
    const c = await cluster({ dataNodes: 4, ...FAST });
    const { dir, sha } = await putFile(c, 3 * CHUNK + 5);
    const target = (await chunkLocations(c, "/f"))[1]!;
    const first = nodeOf(c, target.replicas[0]!); // the replica the get tries first
    expect((await c.replicaOnDisk(first, target.chunkId))!.packed).toBe(true);
    await flipReplicaByte(c, first, target.chunkId, 100_000);
    await c.client().get("/f", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(sha);
    await eventually(async () => {
      await expectHealed(c, "/f");
      expect(await c.chunkFiles(first)).not.toContain(target.chunkId);
      expect((await c.client().clusterStatus()).pendingTrashTasks).toBe(0);
    });
  });

  it("finds and repairs flipped, truncated, deleted and zeroed plain chunk files with the scrubber alone", async () => {
    const c = await cluster({ dataNodes: 4, ...FAST, dataNode: { scrubPeriodMs: 300, packedChunkMaxBytes: 0 } });
    await putFile(c, 4 * CHUNK);
    const chunks = await chunkLocations(c, "/f");
    const damage = [
      (p: string) => flipByte(p, 12_345),
      (p: string) => truncate(p, 1000),
      (p: string) => rm(p),
      (p: string) => writeFile(p, Buffer.alloc(CHUNK)),
    ];
    for (const [i, hurt] of damage.entries()) await hurt(chunkPath(c, nodeOf(c, chunks[i]!.replicas[0]!), chunks[i]!.chunkId));
    await eventually(() => expectHealed(c, "/f"));
  });

  it("finds and repairs packed records with a flipped byte, zeroed bytes or a damaged header with the scrubber alone", async () => {
    const c = await cluster({ dataNodes: 4, ...FAST, dataNode: { scrubPeriodMs: 300 } });
    await putFile(c, 3 * CHUNK);
    const chunks = await chunkLocations(c, "/f");
    const where = await Promise.all(chunks.map((ch) => c.replicaOnDisk(nodeOf(c, ch.replicas[0]!), ch.chunkId)));
    expect(where.every((w) => w?.packed)).toBe(true);
    await flipByte(where[0]!.path, where[0]!.start + 12_345);
    const zero = await open(where[1]!.path, "r+");
    await zero.write(Buffer.alloc(CHUNK), 0, CHUNK, where[1]!.start);
    await zero.close();
    // Inside the record's header (its piece checksums, just before the data).
    await flipByte(where[2]!.path, where[2]!.start - 8);
    await eventually(() => expectHealed(c, "/f"));
  });

  it("fails a get with DataLoss naming the chunk when every replica is bad; fsck says so; other files are fine", async () => {
    const c = await cluster({ ...FAST });
    const { dir } = await putFile(c, 2 * CHUNK, "/doomed");
    const other = await putFile(c, CHUNK, "/fine");
    const lost = (await chunkLocations(c, "/doomed"))[1]!;
    for (const address of lost.replicas) await flipReplicaByte(c, nodeOf(c, address), lost.chunkId, 7);
    const client = c.client();
    await expect(client.get("/doomed", join(dir, "out"))).rejects.toMatchObject({
      code: "data_loss",
      message: expect.stringMatching(new RegExp(`^/doomed: chunk 1 \\(${lost.chunkId}\\)`)),
    });
    expect(await readdir(dir)).toEqual(["in"]); // nothing half-written
    const report = await eventually(async () => {
      const r = await client.fsck("/");
      expect(r.corruptChunks).toBe(1);
      return r;
    });
    expect(report.healthy).toBe(false);
    const doomed = report.files.find((f) => f.path === "/doomed")!;
    expect(doomed.chunks[1]).toMatchObject({ health: "corrupt", liveReplicas: [] });
    // Bad copies found while a (seemingly) good one remained went to trash; the last is kept.
    expect(doomed.chunks[1]!.corruptReplicas.length).toBeGreaterThanOrEqual(1);
    expect(report.files.find((f) => f.path === "/fine")!.chunks.every((ch) => ch.health === "healthy")).toBe(true);
    await client.get("/fine", join(dir, "fine"));
    expect(await sha256File(join(dir, "fine"))).toBe(other.sha);
    // A second get now knows up front that nothing good is left.
    await expect(client.get("/doomed", join(dir, "again"))).rejects.toMatchObject({ code: "data_loss", message: expect.stringContaining("no good replica left") });
  });

  it("reads ranges across piece and chunk boundaries, verified", async () => {
    const c = await cluster(FAST);
    const { local } = await putFile(c, 3 * CHUNK + 999);
    const whole = await buffer((await import("node:fs")).createReadStream(local));
    const client = c.client();
    for (const [start, end] of [
      [0, 0],
      [65_530, 65_545], // a piece boundary (64 KiB)
      [CHUNK - 10, CHUNK + 10], // a chunk boundary
      [100, 3 * CHUNK + 500], // most of the file
      [3 * CHUNK + 990, 10 * CHUNK], // past the end: clipped
    ] as const) {
      const got = await buffer(client.createReadStream("/f", { start, end }));
      expect(got.equals(whole.subarray(start, end + 1))).toBe(true);
    }
  });

  it("moves a range read to another replica when the first is corrupt", async () => {
    const c = await cluster(FAST);
    const { local } = await putFile(c, 2 * CHUNK);
    const whole = await buffer((await import("node:fs")).createReadStream(local));
    const chunk = (await chunkLocations(c, "/f"))[0]!;
    await flipReplicaByte(c, nodeOf(c, chunk.replicas[0]!), chunk.chunkId, 70_000);
    const got = await buffer(c.client().createReadStream("/f", { start: 60_000, end: 200_000 }));
    expect(got.equals(whole.subarray(60_000, 200_001))).toBe(true);
  });

  it("refuses a get whose replicas hold other bytes with self-consistent piece checksums: the whole chunk's checksum on record decides", async () => {
    // Plain files: their metadata is rewritten to match the other bytes.
    const c = await cluster({ ...FAST, dataNode: { packedChunkMaxBytes: 0 } });
    const { dir } = await putFile(c, CHUNK);
    const chunk = (await chunkLocations(c, "/f"))[0]!;
    // Same length, other bytes, and metadata that matches them piece by piece.
    const other = Buffer.alloc(CHUNK, 7);
    const pieces = [0, 1, 2, 3].map((i) => crc32(other.subarray(i * 65_536, (i + 1) * 65_536)) >>> 0);
    for (const address of chunk.replicas) {
      const path = chunkPath(c, nodeOf(c, address), chunk.chunkId);
      await writeFile(path, other);
      await writeFile(`${path}.meta`, JSON.stringify({ version: 1, length: CHUNK, checksum: crc32(other) >>> 0, pieceSize: 65_536, pieces }));
    }
    await expect(c.client().get("/f", join(dir, "out"))).rejects.toMatchObject({
      code: "data_loss",
      message: expect.stringContaining("whole-chunk checksum mismatch"),
    });
    await expect(readdir(dir)).resolves.toEqual(["in"]);
  });
});
