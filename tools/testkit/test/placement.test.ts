import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomFile, sha256File, type MiniCluster } from "../src/index.js";
import { chunkLocations, cluster, eventually, workDir } from "./helpers.js";

const CHUNK = 64 * 1024;
const FAST = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 };
const ZONES = ["a", "a", "a", "b", "b", "b"];

/** The zone of each replica of each chunk of `path`, as the NameNode locates them. */
async function zonesOfChunks(c: MiniCluster, path: string): Promise<string[][]> {
  const byAddress = new Map((await c.client().clusterStatus()).datanodes.map((d) => [d.address, d.zone] as const));
  return (await chunkLocations(c, path)).map((l) => l.replicas.map((a) => byAddress.get(a) ?? "?"));
}

/** Every chunk has `replication` replicas in both zones, at most two in either. */
async function expectBothZones(c: MiniCluster, path: string, replication = 3) {
  for (const zones of await zonesOfChunks(c, path)) {
    expect(zones).toHaveLength(replication);
    const a = zones.filter((z) => z === "a").length;
    const b = zones.filter((z) => z === "b").length;
    expect(a >= 1 && b >= 1 && a <= 2 && b <= 2, `replicas in zones ${zones.join(",")}`).toBe(true);
  }
}

async function putFile(c: MiniCluster, path: string, size: number) {
  const dir = await workDir();
  await randomFile(join(dir, "in"), size);
  await c.client({ chunkSize: CHUNK }).put(join(dir, "in"), path);
  return { dir, sha: await sha256File(join(dir, "in")) };
}

describe("zone-aware placement (2 zones × 3 DataNodes)", () => {
  it("keeps every chunk in both zones through writes, a DataNode's death and a decommission", async () => {
    const c = await cluster({ dataNodes: 6, zones: ZONES, ...FAST });
    const status = await c.client().clusterStatus();
    expect(status.datanodes.map((d) => d.zone).sort()).toEqual([...ZONES].sort());
    const { dir, sha } = await putFile(c, "/f", 20 * CHUNK + 5);
    await expectBothZones(c, "/f");

    // A zone-b node dies: its chunks are copied back, still across both zones.
    const victim = 4;
    await c.stopDataNode(victim);
    await eventually(async () => {
      const s = await c.client().clusterStatus();
      expect(s.datanodes.filter((d) => d.state === "dead")).toHaveLength(1);
      expect(s.underReplicatedChunks + s.missingChunks + s.pendingReplicationTasks + s.misplacedChunks).toBe(0);
      await expectBothZones(c, "/f");
    });

    // A zone-b node is drained: its chunks move, and the zone rule holds.
    const drained = c.dataNodeAddress(3);
    await c.client().decommission(drained);
    await eventually(async () => {
      const s = await c.client().clusterStatus();
      expect(s.datanodes.find((d) => d.address === drained)?.adminState).toBe("decommissioned");
      expect(s.underReplicatedChunks + s.pendingReplicationTasks + s.misplacedChunks).toBe(0);
    });
    await c.stopDataNode(3);
    await eventually(() => expectBothZones(c, "/f"));
    await c.client().get("/f", join(dir, "out"));
    expect(await sha256File(join(dir, "out"))).toBe(sha);
  });

  it("moves chunks written while one zone was down into it once it is back", async () => {
    const c = await cluster({ dataNodes: 6, zones: ZONES, ...FAST });
    for (const i of [3, 4, 5]) await c.stopDataNode(i);
    await c.waitForLiveDataNodes(3);
    await putFile(c, "/one-zone", 4 * CHUNK);
    expect((await zonesOfChunks(c, "/one-zone")).flat().every((z) => z === "a")).toBe(true);
    for (const i of [3, 4, 5]) await c.startDataNode(i);
    await c.waitForLiveDataNodes(6);
    await eventually(async () => {
      const s = await c.client().clusterStatus();
      expect(s.misplacedChunks + s.pendingReplicationTasks).toBe(0);
      await expectBothZones(c, "/one-zone");
    });
  });
});

describe("the balancer", () => {
  it("fills a new empty DataNode from full ones until every node is within the threshold, losing nothing", async () => {
    // Small capacities make the shares meaningful on one shared disk.
    const capacity = 4 * 1024 * 1024;
    const c = await cluster({ dataNodes: 3, dataNode: { capacity }, nameNode: { balancerBandwidthBytesPerSecond: 64 * 1024 * 1024 }, ...FAST });
    const files: Array<{ path: string; sha: string; dir: string }> = [];
    for (let i = 0; i < 4; i++) files.push({ path: `/d/f${i}`, ...(await putFile(c, `/d/f${i}`, 8 * CHUNK)) });
    await c.startDataNode(3, { capacity });
    await c.waitForLiveDataNodes(4);
    const client = c.client();
    const before = await client.clusterStatus();
    expect(before.datanodes.find((d) => d.address === c.dataNodeAddress(3))?.usedBytes).toBe(0);
    const started = await client.startBalancer({ thresholdPercent: 10 });
    expect(started.running).toBe(true);
    const finished = await eventually(async () => {
      const s = await client.clusterStatus();
      expect(s.balancer).toMatchObject({ running: false, stopReason: "balanced" });
      return s;
    }, 60_000);
    expect(finished.balancer.movesDone).toBeGreaterThan(0);
    expect(finished.balancer.maxDeviationPercent).toBeLessThanOrEqual(10);
    const fresh = finished.datanodes.find((d) => d.address === c.dataNodeAddress(3))!;
    expect(fresh.usedBytes).toBeGreaterThan(0);
    await eventually(async () => {
      const s = await client.clusterStatus();
      expect(s.underReplicatedChunks + s.missingChunks).toBe(0);
      for (const f of files) for (const l of await chunkLocations(c, f.path)) expect(new Set(l.replicas).size).toBe(3);
    });
    for (const f of files) {
      await client.get(f.path, join(f.dir, "out"));
      expect(await sha256File(join(f.dir, "out"))).toBe(f.sha);
    }
  });
});
