import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataNodeService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { randomFile, sha256File, type MiniCluster } from "../src/index.js";
import { chunkLocations, cluster, eventually, holdersOnDisk, workDir } from "./helpers.js";

const CHUNK = 256 * 1024;
const FAST = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 };

/** Every chunk has exactly `n` live replicas, on distinct running nodes that have it on disk. */
async function expectFullyReplicated(c: MiniCluster, path: string, n = 3) {
  const status = await c.client().clusterStatus();
  expect(status.underReplicatedChunks).toBe(0);
  expect(status.missingChunks).toBe(0);
  expect(status.pendingReplicationTasks).toBe(0);
  for (const chunk of await chunkLocations(c, path)) {
    expect(new Set(chunk.replicas).size).toBe(n);
    const running = [...Array(c.dataNodeCount).keys()].filter((i) => c.isRunning(i));
    const onDisk = (await holdersOnDisk(c, chunk.chunkId)).filter((i) => running.includes(i));
    expect(onDisk.map((i) => c.dataNodeAddress(i)).sort()).toEqual([...chunk.replicas].sort());
  }
}

async function putFile(c: MiniCluster, size: number, path = "/f") {
  const dir = await workDir();
  await randomFile(join(dir, "in"), size);
  await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), path);
  return { dir, local: join(dir, "in"), sha: await sha256File(join(dir, "in")) };
}

describe("re-replication", () => {
  it("copies back every chunk of a SIGKILLed DataNode, and the file reads back the same", async () => {
    const c = await cluster({ mode: "process", dataNodes: 4, ...FAST });
    const { dir, sha } = await putFile(c, 8 * CHUNK + 1000);
    const locations = await chunkLocations(c, "/f");
    // The node holding the most chunks is the one to lose.
    const counts = [0, 1, 2, 3].map((i) => locations.filter((l) => l.replicas.includes(c.dataNodeAddress(i))).length);
    const victim = counts.indexOf(Math.max(...counts));
    const victimAddress = c.dataNodeAddress(victim);
    await c.killDataNode(victim);

    await eventually(async () => {
      const status = await c.client().clusterStatus();
      expect(status.datanodes.find((d) => d.address === victimAddress)?.state).toBe("dead");
      await expectFullyReplicated(c, "/f");
    });
    const before = new Map(locations.map((l) => [l.chunkId, l.replicas]));
    let copies = 0;
    for (const chunk of await chunkLocations(c, "/f")) {
      expect(chunk.replicas).not.toContain(victimAddress);
      // Small chunks are packed on every replica, the copies replication made included.
      for (const address of chunk.replicas) {
        const node = c.dataNodeAddresses().indexOf(address);
        expect((await c.replicaOnDisk(node, chunk.chunkId))?.packed, `chunk ${chunk.chunkId} on ${address}`).toBe(true);
        if (!before.get(chunk.chunkId)!.includes(address)) copies++;
      }
    }
    expect(copies).toBe(counts[victim]);
    await c.client().get("/f", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(sha);
  });

  it("heals chunks that were down to one copy after two nodes died one after the other", async () => {
    const c = await cluster({ dataNodes: 5, ...FAST });
    const { dir, sha } = await putFile(c, 6 * CHUNK);
    const first = (await chunkLocations(c, "/f"))[0]!;
    const [a, b] = first.replicas.slice(0, 2).map((addr) => [0, 1, 2, 3, 4].find((i) => c.dataNodeAddress(i) === addr)!);
    await c.stopDataNode(a!);
    await c.stopDataNode(b!);
    // Readable right away, from the one copy left.
    await c.client().get("/f", join(dir, "degraded"));
    expect(await sha256File(join(dir, "degraded"))).toBe(sha);
    const sawOneCopy = await eventually(async () => {
      const l = (await chunkLocations(c, "/f"))[0]!;
      expect(l.replicas.length).toBeLessThan(3);
      return l.replicas.length;
    });
    expect(sawOneCopy).toBeGreaterThanOrEqual(1);
    await eventually(() => expectFullyReplicated(c, "/f"));
    await c.client().get("/f", join(dir, "healed"));
    expect(await sha256File(join(dir, "healed"))).toBe(sha);
  });

  it("trims surplus replicas when a dead node comes back", async () => {
    const c = await cluster({ dataNodes: 4, ...FAST });
    await putFile(c, 4 * CHUNK);
    const victim = 0;
    await c.stopDataNode(victim);
    await eventually(() => expectFullyReplicated(c, "/f"));
    await c.startDataNode(victim);
    // Back with its old copies: four replicas of some chunks, trimmed back to three.
    await eventually(async () => {
      await expectFullyReplicated(c, "/f");
      const total = (await Promise.all([0, 1, 2, 3].map((i) => c.chunkFiles(i)))).flat().length;
      expect(total).toBe(4 * 3);
      expect((await c.client().clusterStatus()).pendingTrashTasks).toBe(0);
    });
  });

  it("does not copy anything while a restarted NameNode waits for chunk reports", async () => {
    const c = await cluster({ ...FAST, nameNode: { safeModeTimeoutMs: 600_000 } });
    await putFile(c, 5 * CHUNK);
    const before = await Promise.all([0, 1, 2].map((i) => c.chunkFiles(i)));
    for (const i of [0, 1, 2]) await c.stopDataNode(i);
    await c.restartNameNode();
    // Well past the heartbeat timeout, nothing is planned: no node has reported.
    await new Promise((r) => setTimeout(r, 2500));
    let status = await c.client().clusterStatus();
    expect(status.safeMode).toMatchObject({ on: true, reportedChunks: 0, totalChunks: 5 });
    expect(status.pendingReplicationTasks).toBe(0);
    expect(status.pendingTrashTasks).toBe(0);
    for (const i of [0, 1, 2]) await c.startDataNode(i);
    status = await eventually(async () => {
      const s = await c.client().clusterStatus();
      expect(s.safeMode.on).toBe(false);
      return s;
    });
    await eventually(() => expectFullyReplicated(c, "/f"));
    expect(await Promise.all([0, 1, 2].map((i) => c.chunkFiles(i)))).toEqual(before);
  });
});

describe("liveness", () => {
  it("keeps DataNodes serving reads while the NameNode is away, and they rejoin when it returns", async () => {
    const c = await cluster(FAST);
    await putFile(c, 2 * CHUNK);
    const [chunk] = await chunkLocations(c, "/f");
    const rpc = new RpcClients();
    const restart = c.restartNameNode({ downMs: 1500 });
    await new Promise((r) => setTimeout(r, 500)); // the NameNode is down now
    let bytes = 0;
    for await (const part of rpc.client(DataNodeService, chunk!.replicas[0]!).readChunk({ chunkId: chunk!.chunkId })) bytes += part.data.length;
    expect(bytes).toBe(CHUNK);
    await restart;
    await eventually(async () => {
      const status = await c.client().clusterStatus();
      expect(status.datanodes.map((d) => d.state)).toEqual(["alive", "alive", "alive"]);
      expect(status.safeMode.on).toBe(false);
    });
    rpc.close();
  });
});

describe("decommissioning", () => {
  it("drains a node, reports it decommissioned, and stopping it leaves nothing under-replicated", async () => {
    const c = await cluster({ dataNodes: 4, ...FAST });
    const { dir, sha } = await putFile(c, 6 * CHUNK);
    const locations = await chunkLocations(c, "/f");
    const node = [0, 1, 2, 3].find((i) => locations.some((l) => l.replicas.includes(c.dataNodeAddress(i))))!;
    const address = c.dataNodeAddress(node);
    const client = c.client();
    expect((await client.decommission(address)).adminState).toBe("decommissioning");
    await eventually(async () => {
      const status = await client.clusterStatus();
      expect(status.datanodes.find((d) => d.address === address)?.adminState).toBe("decommissioned");
    });
    // New writes avoid it.
    await putFile(c, 2 * CHUNK, "/g");
    for (const l of await chunkLocations(c, "/g")) expect(l.replicas).not.toContain(address);
    await c.stopDataNode(node);
    await eventually(async () => {
      const status = await client.clusterStatus();
      expect(status.datanodes.find((d) => d.address === address)?.state).toBe("dead");
    });
    await expectFullyReplicated(c, "/f");
    await client.get("/f", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(sha);
  });

  it("refuses to drain a node when too few others remain, and recommissions", async () => {
    const c = await cluster({ dataNodes: 3, ...FAST });
    await putFile(c, CHUNK);
    const client = c.client();
    await expect(client.decommission(c.dataNodeAddress(0))).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringContaining("need 3 replicas, but only 2 other live DataNode(s) in service remain"),
    });
    const id = (await client.clusterStatus()).datanodes[0]!.id;
    expect((await client.recommission(id)).adminState).toBe("normal");
  });
});
