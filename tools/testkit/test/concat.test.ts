import { randomBytes } from "node:crypto";
import { buffer } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { cluster, workDir } from "./helpers.js";
import { join } from "node:path";
import { readFile } from "node:fs/promises";

describe("ConcatFiles on a cluster", () => {
  it("joins files of different chunk sizes without copying; get and ranges across chunk boundaries read byte for byte", async () => {
    const c = await cluster({ nameNode: { minChunkSize: 1024 } });
    const fs = c.client();
    // Chunks of 3000, 3000, 1000 | 1500 | 4096, 904: six chunks of four lengths.
    const a = randomBytes(7000);
    const b = randomBytes(1500);
    const d = randomBytes(5000);
    await fs.put(a, "/parts/a", { chunkSize: 3000 });
    await fs.put(b, "/parts/b", { chunkSize: 2048 });
    await fs.put(d, "/parts/d", { chunkSize: 4096 });
    const before = c.nameNode.store.chunkCount();
    const joined = await fs.concat(["/parts/a", "/parts/b", "/parts/d"], "/out/joined", { attributes: { etag: "x-3" } });
    expect(joined).toMatchObject({ size: 13_500, chunkCount: 6, attributes: { etag: "x-3" } });
    expect(c.nameNode.store.chunkCount()).toBe(before);
    expect(await fs.exists("/parts/a")).toBe(false);
    const whole = Buffer.concat([a, b, d]);
    expect((await fs.readFile("/out/joined")).equals(whole)).toBe(true);
    const dir = await workDir();
    await fs.get("/out/joined", join(dir, "joined"));
    expect((await readFile(join(dir, "joined"))).equals(whole)).toBe(true);
    // Ranges that start, end and cross at each boundary (3000, 6000, 7000, 8500, 12596).
    for (const [start, end] of [[2990, 3010], [5999, 7000], [6999, 8500], [8499, 12_600], [0, 13_499], [12_596, 13_499], [7000, 7000]] as const) {
      const got = await buffer(fs.createReadStream("/out/joined", { start, end }));
      expect(got.equals(whole.subarray(start, end + 1)), `range ${start}-${end}`).toBe(true);
    }
    expect((await fs.stat("/out/joined")).attributes).toEqual({ etag: "x-3" });
  });
});
