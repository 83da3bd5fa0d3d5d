import { join } from "node:path";
import { open as openLmdb } from "lmdb";
import { describe, expect, it } from "vitest";
import { DataNodeService, ClientService } from "@trainfs/proto";
import { RpcClients, sendChunk } from "@trainfs/common";
import { randomFile, type MiniCluster } from "../src/index.js";
import { chunkLocations, cluster, eventually, workDir } from "./helpers.js";
import { trainfs } from "./cli-run.js";

const CHUNK = 256 * 1024;
const FAST = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 };

async function putFile(c: MiniCluster, size: number, path: string) {
  const dir = await workDir();
  await randomFile(join(dir, "in"), size);
  await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), path);
  return (await chunkLocations(c, path)).map((l) => l.chunkId);
}

async function allChunkFiles(c: MiniCluster): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < c.dataNodeCount; i++) out.push(...(await c.chunkFiles(i)));
  return out;
}

/** A DataNode's /metrics as name{labels} → value. */
async function scrape(address: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await (await fetch(`${address}/metrics`)).text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe("asynchronous deletion through trash", () => {
  it("marks deleted packed chunks dead, shows their space in the cluster report and /metrics, and compaction gives it back", async () => {
    // Small volumes (sealed at 1 MiB), so that deleting 2 MiB of packed chunks makes their volumes worth compacting.
    const c = await cluster({ ...FAST, dataNode: { volumeMaxBytes: 1024 * 1024 } });
    const keep = await putFile(c, CHUNK, "/keep");
    const gone = await putFile(c, 8 * CHUNK, "/gone");
    for (let i = 0; i < 3; i++) expect((await c.replicaOnDisk(i, gone[0]!))?.packed).toBe(true);
    const client = c.client();
    await client.rm("/gone");
    await eventually(async () => {
      const files = await allChunkFiles(c);
      for (const id of gone) expect(files).not.toContain(id);
      const status = await client.clusterStatus();
      expect(status.pendingTrashTasks).toBe(0);
      for (const d of status.datanodes) {
        expect(d.usedBytes).toBe(CHUNK);
        // At least the 2 MiB of records deleted, given back by compaction (or, for a moment, still dead).
        expect(d.compactionReclaimedBytesTotal + d.volumeDeadBytes).toBeGreaterThanOrEqual(8 * CHUNK);
        expect(d.compactionReclaimedBytesTotal).toBeGreaterThan(0);
      }
      for (let i = 0; i < 3; i++) {
        const m = await scrape(c.dataNodeAddress(i));
        const value = (name: string) => [...m].find(([k]) => k === name || k.startsWith(`${name}{`))?.[1];
        expect(value("trainfs_datanode_compaction_reclaimed_bytes_total")).toBeGreaterThan(0);
        expect(value("trainfs_datanode_packed_chunks")).toBe(1);
      }
    });
    expect((await client.readFile("/keep")).length).toBe(CHUNK);
    for (let i = 0; i < 3; i++) expect(await c.chunkFiles(i)).toEqual(keep);
    const report = await trainfs(["admin", "report"], { TRAINFS_NAMENODE: c.nameNodeAddress });
    expect(report.code).toBe(0);
    expect(report.stdout.match(/packed volumes: .* deleted not yet compacted, .* reclaimed since start/g)).toHaveLength(3);
  });


  it("removes every chunk file of a deleted file from every disk, and used space returns", async () => {
    const c = await cluster(FAST);
    const keep = await putFile(c, 2 * CHUNK, "/keep");
    const gone = await putFile(c, 5 * CHUNK + 7, "/gone");
    const client = c.client();
    expect(await client.rm("/gone")).toEqual({ chunkCount: 6 });
    await expect(client.list("/gone")).rejects.toMatchObject({ code: "not_found" });
    await eventually(async () => {
      const files = await allChunkFiles(c);
      for (const id of gone) expect(files).not.toContain(id);
      expect(files.sort()).toEqual([...keep, ...keep, ...keep].sort());
      const status = await client.clusterStatus();
      expect(status.pendingTrashTasks).toBe(0);
      for (const d of status.datanodes) expect(d.usedBytes).toBe(2 * CHUNK);
    });
  });

  it("deletes empty directories and refuses non-empty ones", async () => {
    const c = await cluster(FAST);
    await putFile(c, 10, "/d/e/f");
    const client = c.client();
    await expect(client.rm("/d/e")).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("/d/e is a directory that is not empty") });
    await client.rm("/d/e/f");
    await client.rm("/d/e");
    expect(await client.list("/d")).toEqual([]);
    await expect(client.rm("/")).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("has a node that was down (and declared dead) during the delete remove its copies when it returns", async () => {
    const c = await cluster(FAST);
    const chunks = await putFile(c, 3 * CHUNK, "/f");
    await c.stopDataNode(1);
    await eventually(async () => expect((await c.client().clusterStatus()).datanodes.filter((d) => d.state === "dead")).toHaveLength(1));
    await c.client().rm("/f");
    await eventually(async () => expect(await c.chunkFiles(0)).toEqual([]));
    expect((await c.chunkFiles(1)).sort()).toEqual([...chunks].sort()); // still there while it is down
    await c.startDataNode(1);
    // It reports the chunks; nothing owns them any more, so trash takes them.
    await eventually(async () => expect(await allChunkFiles(c)).toEqual([]));
  });

  it("has a node that was down (not yet declared dead) during the delete remove its copies when it returns", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 60_000 });
    await putFile(c, 3 * CHUNK, "/f");
    await c.stopDataNode(2);
    await c.client().rm("/f");
    await eventually(async () => {
      expect([...(await c.chunkFiles(0)), ...(await c.chunkFiles(1))]).toEqual([]);
      expect((await c.client().clusterStatus()).pendingTrashTasks).toBe(3); // kept for the absent node
    });
    expect(await c.chunkFiles(2)).toHaveLength(3);
    await c.startDataNode(2);
    await eventually(async () => {
      expect(await allChunkFiles(c)).toEqual([]);
      expect((await c.client().clusterStatus()).pendingTrashTasks).toBe(0);
    });
  });

  it("resumes deletions a DataNode received but had not finished when it was SIGKILLed", async () => {
    const c = await cluster({ mode: "process", ...FAST });
    const chunks = await putFile(c, 2 * CHUNK, "/f");
    await c.killDataNode(0);
    // What the node had persisted when it crashed: the names, before deleting anything.
    const tasks = openLmdb({ path: join(c.dataNodeDir(0), "tasks.mdb"), maxDbs: 8 });
    const trash = tasks.openDB<number, string>({ name: "trash", encoding: "msgpack" });
    await tasks.transaction(() => {
      for (const id of chunks) trash.put(id, Date.now());
    });
    await tasks.close();
    expect(await c.chunkFiles(0)).toHaveLength(2);
    await c.startDataNode(0);
    await eventually(async () => expect(await c.chunkFiles(0)).toEqual([]));
  });

  it("sends the chunks an abandoned write already stored to trash", async () => {
    const c = await cluster(FAST);
    const dir = await workDir();
    await randomFile(join(dir, "in"), 2 * CHUNK);
    const rpc = new RpcClients();
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    const plan = await nn.putFile({ path: "/f", size: BigInt(2 * CHUNK), chunkSize: BigInt(CHUNK) });
    const first = plan.chunks[0]!;
    await sendChunk(rpc.client(DataNodeService, first.chain[0]!.address), join(dir, "in"), first, {});
    expect(await allChunkFiles(c)).toEqual([first.chunkId, first.chunkId, first.chunkId]);
    await nn.abandonFile({ path: "/f", uploadId: plan.uploadId });
    rpc.close();
    await eventually(async () => {
      expect(await allChunkFiles(c)).toEqual([]);
      expect((await c.client().clusterStatus()).pendingTrashTasks).toBe(0);
    });
  });
});

describe("crash safety of task queues", () => {
  it("finishes replication and trash tasks that were pending when the NameNode was SIGKILLed", async () => {
    const c = await cluster({ mode: "process", dataNodes: 4, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 2000 });
    const healed = await putFile(c, 4 * CHUNK, "/healed");
    const deleted = await putFile(c, 2 * CHUNK, "/deleted");
    const client = c.client();
    const victim = 0;
    const victimAddress = c.dataNodeAddress(victim);
    await c.killDataNode(victim);
    // Freeze the survivors as soon as the death is noticed, so that the copies
    // and deletions the NameNode records cannot be handed out.
    await eventually(async () => {
      expect((await client.clusterStatus()).datanodes.find((d) => d.address === victimAddress)?.state).toBe("dead");
    }, 30_000, 20);
    for (const i of [1, 2, 3]) process.kill(c.dataNodePid(i), "SIGSTOP");
    try {
      await client.rm("/deleted");
      await eventually(async () => {
        const s = await client.clusterStatus();
        expect(s.pendingReplicationTasks).toBeGreaterThan(0);
        expect(s.pendingTrashTasks).toBeGreaterThan(0);
      });
      await c.restartNameNode({ kill: true });
    } finally {
      for (const i of [1, 2, 3]) process.kill(c.dataNodePid(i), "SIGCONT");
    }
    await eventually(async () => {
      const s = await c.client().clusterStatus();
      expect(s.safeMode.on).toBe(false);
      expect(s.underReplicatedChunks).toBe(0);
      expect(s.pendingReplicationTasks).toBe(0);
      expect(s.pendingTrashTasks).toBe(0);
      // The killed node keeps its files; every running node has deleted its copies.
      const files = (await Promise.all([1, 2, 3].map((i) => c.chunkFiles(i)))).flat();
      for (const id of deleted) expect(files).not.toContain(id);
      for (const l of await chunkLocations(c, "/healed")) expect(l.replicas).toHaveLength(3);
    }, 60_000);
    expect(healed).toHaveLength(4);
  });
});
