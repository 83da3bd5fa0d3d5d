import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { randomFile, sha256File } from "../src/index.js";
import { cluster, metricSum, scrapeMetrics, workDir } from "./helpers.js";

const CHUNK = 64 * 1024;

describe("put then get across a NameNode and three DataNodes", () => {
  it.each([
    ["empty", 0],
    ["one byte", 1],
    ["exactly one chunk", CHUNK],
    ["one chunk and one byte", CHUNK + 1],
    ["many chunks", 7 * CHUNK + 12_345],
  ])("%s (%i bytes) comes back byte-identical, each chunk on 3 distinct DataNodes", async (_name, size) => {
    const c = await cluster();
    const dir = await workDir();
    const local = join(dir, "in.bin");
    await randomFile(local, size);
    const client = c.client({ chunkSize: CHUNK });

    const put = await client.put(local, "/data/file.bin");
    expect(put).toMatchObject({ path: "/data/file.bin", type: "file", size, replication: 3, chunkCount: Math.ceil(size / CHUNK) });

    const back = join(dir, "out.bin");
    const got = await client.get("/data/file.bin", back);
    expect(got.size).toBe(size);
    expect(await sha256File(back)).toBe(await sha256File(local));

    const chunkIds = c.nameNode.namespace.lookup("/data/file.bin").chunkIds;
    expect(chunkIds).toHaveLength(Math.ceil(size / CHUNK));
    const onDisk = await Promise.all([0, 1, 2].map((i) => c.chunkFiles(i)));
    for (const id of chunkIds) {
      const holders = onDisk.filter((files) => files.includes(id));
      expect(holders).toHaveLength(3);
    }
    // Nothing else was left on any disk: no stray or temporary chunks.
    expect(onDisk.map((files) => files.length)).toEqual([chunkIds.length, chunkIds.length, chunkIds.length]);
  });

  it("openFile gives the status and the bytes (whole or a range, across chunks) with one GetFile", async () => {
    const c = await cluster();
    const client = c.client({ chunkSize: CHUNK });
    const data = randomBytes(3 * CHUNK + 100);
    await client.writeFile("/o/f", data);
    const calls = async () => metricSum(await scrapeMetrics(c.nameNodeAddress), "trainfs_rpc_requests_total", 'method="GetFile');
    const before = await calls();
    const opened = await client.openFile("/o/f");
    expect(await calls()).toBe(before + 1);
    expect(opened.status).toEqual(await client.stat("/o/f"));
    expect(await buffer(opened.createReadStream())).toEqual(data);
    expect(await buffer(opened.createReadStream({ start: CHUNK - 10, end: 2 * CHUNK + 9 }))).toEqual(data.subarray(CHUNK - 10, 2 * CHUNK + 10));
    // The reads asked the NameNode nothing more.
    expect(await calls()).toBe(before + 1);
    await expect(client.openFile("/o/missing")).rejects.toMatchObject({ code: "not_found" });
    await expect(client.openFile("/o")).rejects.toMatchObject({ code: "failed_precondition" });
  });

  it("lists what was put, sorted, with sizes and replication", async () => {
    const c = await cluster();
    const dir = await workDir();
    const client = c.client({ chunkSize: CHUNK });
    await randomFile(join(dir, "a"), 10);
    await client.put(join(dir, "a"), "/d/zeta");
    await client.put(join(dir, "a"), "/d/alpha", { replication: 2 });
    await client.put(join(dir, "a"), "/d/sub/x");
    const entries = await client.list("/d");
    expect(entries.map((e) => [e.path, e.type, e.size, e.replication])).toEqual([
      ["/d/alpha", "file", 10, 2],
      ["/d/sub", "directory", 0, 0],
      ["/d/zeta", "file", 10, 3],
    ]);
    expect((await client.list("/d/zeta")).map((e) => e.path)).toEqual(["/d/zeta"]);
    expect((await client.list("/")).map((e) => e.path)).toEqual(["/d"]);
  });

  it("runs several puts of different files at once", async () => {
    const c = await cluster();
    const dir = await workDir();
    const client = c.client({ chunkSize: CHUNK });
    const sizes = [3 * CHUNK + 1, 2 * CHUNK, 5, 4 * CHUNK - 7, CHUNK];
    await Promise.all(sizes.map((s, i) => randomFile(join(dir, `in-${i}`), s)));
    await Promise.all(sizes.map((_, i) => client.put(join(dir, `in-${i}`), `/many/f-${i}`)));
    await Promise.all(sizes.map((_, i) => client.get(`/many/f-${i}`, join(dir, `out-${i}`))));
    for (let i = 0; i < sizes.length; i++) {
      expect(await sha256File(join(dir, `out-${i}`))).toBe(await sha256File(join(dir, `in-${i}`)));
    }
    expect((await client.list("/many")).map((e) => e.size)).toEqual(sizes);
  });

  it("spreads the chunks of a file over more than three DataNodes by free space", async () => {
    // The five share one disk whose free space moves with everything else on
    // the machine; a capacity cap makes each node's free space its own.
    const c = await cluster({ dataNodes: 5, dataNode: { capacity: 1024 ** 3 } });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 10 * CHUNK);
    await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), "/spread");
    const counts = await Promise.all([0, 1, 2, 3, 4].map(async (i) => (await c.chunkFiles(i)).length));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    // With promised space counted, 30 replicas over 5 equal nodes land 6 on each.
    expect(counts).toEqual([6, 6, 6, 6, 6]);
  });

  it("keeps confirmed files across a NameNode restart", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "in"), 3 * CHUNK + 5);
    await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), "/durable");
    await c.restartNameNode();
    await c.waitForLiveDataNodes(3);
    await c.client().get("/durable", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(await sha256File(join(dir, "in")));
  });
});
