import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomFile, sha256File } from "../src/index.js";
import { chunkLocations, cluster, eventually, rejection, workDir } from "./helpers.js";

const CHUNK = 64 * 1024;

describe("failures on the write and read paths", () => {
  it("reads a file with two of its three DataNodes stopped", async () => {
    const c = await cluster({ heartbeatTimeoutMs: 60_000 }); // the NameNode still offers the stopped nodes: the client must skip them
    const dir = await workDir();
    await randomFile(join(dir, "in"), 6 * CHUNK + 99);
    await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), "/f");
    for (const stopped of [[0, 1], [1, 2], [0, 2]]) {
      for (const i of stopped) await c.stopDataNode(i);
      const out = join(dir, `out-${stopped.join("")}`);
      await c.client().get("/f", out);
      expect(await sha256File(out)).toBe(await sha256File(join(dir, "in")));
      for (const i of stopped) await c.startDataNode(i);
    }
  });

  it("fails a get clearly, leaving no local file, when no replica can be reached", async () => {
    const c = await cluster({ heartbeatTimeoutMs: 60_000 });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 2 * CHUNK);
    await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), "/f");
    for (const i of [0, 1, 2]) await c.stopDataNode(i);
    const err = await rejection(c.client().get("/f", join(dir, "out")));
    expect(err.code).toBe("unavailable");
    expect(err.message).toMatch(/chunk 0 .* could not be read from any of its 3 replicas/);
    expect(await readdir(dir)).toEqual(["in"]);
  });

  it("writes with 2 of 3 DataNodes live, reads back, and is back to 3 replicas once the third returns", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 3 * CHUNK);
    const sha = await sha256File(join(dir, "in"));
    await c.stopDataNode(2);
    await c.waitForLiveDataNodes(2);
    const client = c.client({ chunkSize: CHUNK });
    await client.put(join(dir, "in"), "/dir/f");
    expect((await client.stat("/dir/f")).replication).toBe(3);
    for (const l of await chunkLocations(c, "/dir/f")) expect(l.replicas).toHaveLength(2);
    expect((await client.clusterStatus()).underReplicatedChunks).toBe(3);
    await client.get("/dir/f", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(sha);
    await c.startDataNode(2);
    await eventually(async () => {
      for (const l of await chunkLocations(c, "/dir/f")) expect(new Set(l.replicas).size).toBe(3);
      expect((await client.clusterStatus()).underReplicatedChunks).toBe(0);
    });
  });

  it("refuses a put when fewer DataNodes than minWriteReplicas are live, leaving no file", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "in"), CHUNK);
    await c.stopDataNode(1);
    await c.stopDataNode(2);
    await c.waitForLiveDataNodes(1);
    const client = c.client({ chunkSize: CHUNK });
    const err = await rejection(client.put(join(dir, "in"), "/dir/f"));
    expect(err.code).toBe("failed_precondition");
    expect(err.message).toBe("replication 3 needs at least 2 live DataNodes (minWriteReplicas), but 1 is live and in service");
    expect((await rejection(client.list("/dir/f"))).code).toBe("not_found");
    expect((await rejection(client.list("/dir"))).code).toBe("not_found");
    // Replication 1 fits on the live node.
    await client.put(join(dir, "in"), "/dir/f", { replication: 1 });
    expect((await client.list("/dir/f"))[0]!.replication).toBe(1);
  });

  it("finishes a put whose chain has a dead DataNode on the nodes left, down to minWriteReplicas", async () => {
    const c = await cluster({ heartbeatTimeoutMs: 60_000 }); // the NameNode does not know yet
    const dir = await workDir();
    await randomFile(join(dir, "in"), 3 * CHUNK);
    const dead = c.dataNodeAddress(1);
    await c.stopDataNode(1);
    const client = c.client({ chunkSize: CHUNK });
    await client.put(join(dir, "in"), "/f");
    for (const l of await chunkLocations(c, "/f")) {
      expect(l.replicas).not.toContain(dead);
      expect(l.replicas).toHaveLength(2);
    }
  });

  it("fails a put whose chain has a dead DataNode when no chain of minWriteReplicas is left, names it, and frees the path", async () => {
    const c = await cluster({ heartbeatTimeoutMs: 60_000, nameNode: { minWriteReplicas: 3 } }); // the NameNode does not know yet
    const dir = await workDir();
    await randomFile(join(dir, "in"), 3 * CHUNK);
    const dead = c.dataNodeAddress(1);
    await c.stopDataNode(1);
    const client = c.client({ chunkSize: CHUNK });
    const err = await rejection(client.put(join(dir, "in"), "/f"));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain(dead);
    expect((await rejection(client.list("/f"))).code).toBe("not_found");
    // No chunk under a final name on the live nodes is counted by the NameNode,
    // and no temporary file is left behind.
    for (const i of [0, 2]) expect(await readdir(join(c.dataNodeDir(i), "tmp"))).toEqual([]);
    expect([...c.nameNode.store.chunks.getKeys()]).toEqual([]);
    await c.startDataNode(1);
    await client.put(join(dir, "in"), "/f");
    expect((await client.list("/f"))[0]!.size).toBe(3 * CHUNK);
  });

  it("refuses to overwrite an existing file, and a get onto an existing local file", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "in"), 10);
    const client = c.client();
    await client.put(join(dir, "in"), "/f");
    const exists = await rejection(client.put(join(dir, "in"), "/f"));
    expect(exists.code).toBe("already_exists");
    expect(exists.message).toBe("/f already exists");
    expect((await rejection(client.get("/f", join(dir, "in")))).code).toBe("already_exists");
    await client.get("/f", join(dir, "in"), { overwrite: true });
    expect((await rejection(client.put(join(dir, "missing"), "/g"))).code).toBe("not_found");
    expect((await rejection(client.get("/nope", join(dir, "x")))).code).toBe("not_found");
    expect((await rejection(client.get("/", join(dir, "x")))).code).toBe("failed_precondition");
  });
});

describe("hung DataNodes", () => {
  it("reads from another replica when a DataNode stops answering mid-stream (SIGSTOP), and a put through it fails instead of hanging", async () => {
    const c = await cluster({ mode: "process", heartbeatIntervalMs: 100, heartbeatTimeoutMs: 60_000 });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 4 * CHUNK);
    await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), "/f");
    const first = (await chunkLocations(c, "/f"))[0]!.replicas[0]!;
    const stopped = [0, 1, 2].find((i) => c.dataNodeAddress(i) === first)!;
    process.kill(c.dataNodePid(stopped), "SIGSTOP");
    try {
      const client = c.client({ idleTimeoutMs: 1000 });
      const started = Date.now();
      await client.get("/f", join(dir, "out"));
      expect(await sha256File(join(dir, "out"))).toBe(await sha256File(join(dir, "in")));
      expect(Date.now() - started).toBeLessThan(20_000);
      const err = await rejection(c.client({ chunkSize: CHUNK, idleTimeoutMs: 1000 }).put(join(dir, "in"), "/g"));
      expect(err.code).toBe("unavailable");
      expect(err.message).toMatch(/no progress for 1000 ms|unreachable/);
      expect((await rejection(client.list("/g"))).code).toBe("not_found");
    } finally {
      process.kill(c.dataNodePid(stopped), "SIGCONT");
    }
  });
});

describe("write-pipeline recovery", () => {
  it("finishes a put when a DataNode of its chain is SIGKILLed midway, on a new chain without it", async () => {
    const c = await cluster({ mode: "process", dataNodes: 4, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 60_000 });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 24 * CHUNK);
    let killed = false;
    const client = c.client({ chunkSize: CHUNK, concurrency: 1 });
    const put = client.put(join(dir, "in"), "/survivor", {
      onProgress: (done) => {
        if (!killed && done > 6 * CHUNK) {
          killed = true;
          void c.killDataNode(1);
        }
      },
    });
    const file = await put;
    expect(killed).toBe(true);
    expect(file.size).toBe(24 * CHUNK);
    const dead = await c.client().clusterStatus();
    expect(dead.datanodes).toHaveLength(4);
    await client.get("/survivor", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(await sha256File(join(dir, "in")));
    // Every chunk was confirmed with 3 replicas committed, none of them on the killed node after it died.
    for (const l of await chunkLocations(c, "/survivor")) expect(l.replicas.length).toBeGreaterThanOrEqual(3);
  });
});

describe("full disks", () => {
  it("refuses writes a full node cannot take, clearly, and it reports itself full with no half-written chunk", async () => {
    // Every replica required, so that the full node cannot simply be left out of the chain.
    const c = await cluster({ heartbeatIntervalMs: 100, nameNode: { minWriteReplicas: 3 } });
    // DataNode 3 comes back offering only 300 KiB: room for four chunks of 64 KiB.
    await c.stopDataNode(2);
    await c.startDataNode(2, { capacity: 300 * 1024 });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 4 * CHUNK);
    const client = c.client({ chunkSize: CHUNK });
    await client.put(join(dir, "in"), "/fits");
    const err = await rejection(client.put(join(dir, "in"), "/does-not-fit"));
    expect(err.code).toBe("resource_exhausted");
    expect(err.message).toMatch(/room|no room/);
    expect((await rejection(client.stat("/does-not-fit"))).code).toBe("not_found");
    expect(await readdir(join(c.dataNodeDir(2), "tmp"))).toEqual([]);
    expect((await c.chunkFiles(2)).length).toBe(4);
    // Nodes after the full one in a chain had their stream opened early and cancelled: nothing half-written there either.
    await expect.poll(async () => Promise.all([0, 1].map(async (i) => readdir(join(c.dataNodeDir(i), "tmp"))))).toEqual([[], []]);
    await expect.poll(async () => {
      const node = (await client.clusterStatus()).datanodes.find((d) => d.address === c.dataNodeAddress(2))!;
      return [node.capacityBytes, node.freeBytes < CHUNK];
    }).toEqual([300 * 1024, true]);
    await client.get("/fits", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(await sha256File(join(dir, "in")));
  });
});
