import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cluster, workDir } from "../test/helpers.js";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

// A long test (pnpm test:long): minutes on two cores, so not in the default suite.
describe("a directory of many small files", () => {
  it("goes up with putTree and comes back with getTree: 10,000 files, each with its sha256, the packed chunks on three replicas", { timeout: 900_000 }, async () => {
    const c = await cluster({ mode: "process", dataNodes: 3, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 30_000 });
    await c.waitForLiveDataNodes(3);
    const fs = c.client();
    const dir = await workDir();
    const src = join(dir, "dataset");
    const sums = new Map<string, string>();
    for (let i = 0; i < 10_000; i++) {
      // Sizes from empty to 8 KiB, in 100 shards: a dataset's samples.
      const rel = join(`shard-${String(i % 100).padStart(3, "0")}`, `sample-${i}.bin`);
      const data = randomBytes(i % 8193);
      if (i < 100) await mkdir(join(src, `shard-${String(i).padStart(3, "0")}`), { recursive: true });
      await writeFile(join(src, rel), data);
      sums.set(rel, sha256(data));
    }

    const up = await fs.putTree(src, "/datasets/v1");
    expect(up.failed).toEqual([]);
    expect(up.done).toHaveLength(10_000);
    const bytes = [...Array(10_000).keys()].reduce((n, i) => n + (i % 8193), 0);
    expect(await fs.du("/datasets/v1")).toEqual({ files: 10_000, directories: 101, bytes, spaceConsumed: 3 * bytes });
    expect((await fs.list("/datasets/v1/shard-007")).length).toBe(100);
    // Every file but the two empty ones is one chunk, each on three DataNodes.
    const report = await fs.fsck("/datasets/v1");
    expect(report).toMatchObject({ healthy: true, healthyChunks: 9_998, underReplicatedChunks: 0, corruptChunks: 0, missingChunks: 0 });
    expect(report.files).toHaveLength(10_000);

    const back = join(dir, "back");
    const down = await fs.getTree("/datasets/v1", back);
    expect(down.failed).toEqual([]);
    expect(down.done).toHaveLength(10_000);
    const differ: string[] = [];
    for (const [rel, sum] of sums) if (sha256(await readFile(join(back, rel))) !== sum) differ.push(rel);
    expect(differ).toEqual([]);
  });
});
