import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "@trainfs/common";
import { DataNode, dataNodeConfigSchema, type RoleProbe } from "@trainfs/datanode";
import { MetadataStore, NameNode, nameNodeConfigSchema } from "@trainfs/namenode";
import { TrainfsClient } from "@trainfs/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MiniCluster } from "../src/index.js";

/**
 * A DataNode given two real NameNodes (`--namenode a,b`): the MiniCluster's,
 * taken as the active one, and a second single NameNode of the same cluster
 * id with an empty namespace, taken as a standby. Both must hear from the
 * node; the second one, which knows none of its chunks, must not make it
 * drop any (it answers their reports with NotFound and puts them in its
 * trash, as a standby that lags behind the log could).
 */
describe("a DataNode with two NameNodes", () => {
  let cluster: MiniCluster;
  let second: NameNode;
  let node: DataNode;
  let client: TrainfsClient;
  let secondClient: TrainfsClient;
  let startNode: () => Promise<void>;

  beforeAll(async () => {
    cluster = await MiniCluster.start({ dataNodes: 0 });
    client = cluster.client();
    const { clusterId } = await client.clusterStatus();
    const dir = join(cluster.baseDir, "namenode-2");
    await mkdir(dir, { recursive: true });
    const store = await MetadataStore.open(dir);
    // HA NameNodes share one cluster id (kept in etcd); this single one is given the first one's by hand.
    const meta = (store as unknown as { meta: { put(key: string, value: string): void } }).meta;
    await store.write(() => meta.put("clusterId", clusterId));
    await store.close();
    const config = nameNodeConfigSchema.parse({ host: "127.0.0.1", port: 0, dataDir: dir, monitorIntervalMs: 100, heartbeatTimeoutMs: 2000, logLevel: "warn" });
    second = await NameNode.start(config, createLogger("namenode-2", "warn"));
    secondClient = new TrainfsClient({ namenode: second.address });
    const roles: RoleProbe = async (address) => (address === cluster.nameNodeAddress ? "active" : "standby");
    const dnConfig = dataNodeConfigSchema.parse({
      host: "127.0.0.1", port: 0, dataDir: join(cluster.baseDir, "datanode-ha"), heartbeatIntervalMs: 100, logLevel: "warn",
      namenode: `${cluster.nameNodeAddress},${second.address}`,
    });
    await mkdir(dnConfig.dataDir, { recursive: true });
    startNode = async () => {
      node = await DataNode.start(dnConfig, createLogger("datanode-ha", "warn"), { roleProbe: roles });
      await node.link.ready;
    };
    await startNode();
  }, 60_000);

  afterAll(async () => {
    client?.close();
    secondClient?.close();
    await node?.stop();
    await second?.stop();
    await cluster?.shutdown();
  });

  it("registers and heartbeats with both", async () => {
    for (const c of [client, secondClient]) {
      await expect.poll(async () => (await c.clusterStatus()).datanodes.map((d) => [d.id, d.state]), { timeout: 10_000 }).toEqual([[node.id, "alive"]]);
    }
  });

  it("keeps a chunk that only the active NameNode knows, and serves it", async () => {
    const file = await client.writeFile("/kept.txt", "kept by the active NameNode's word only\n", { replication: 1 });
    expect(file.chunkCount).toBe(1);
    const [chunkId] = (await client.fsck("/kept.txt")).files[0]!.chunks.map((c) => c.chunkId);
    // A restart sends the full chunk report to both again: the second
    // NameNode, which does not know the chunk, puts it in its trash and
    // hands it out in its heartbeat answers, which are not acted on.
    await node.stop();
    await startNode();
    await new Promise((r) => setTimeout(r, 1500));
    expect(node.store.has(chunkId!)).toBe(true);
    expect(Buffer.from(await client.readFile("/kept.txt")).toString()).toBe("kept by the active NameNode's word only\n");
    await expect(secondClient.stat("/kept.txt")).rejects.toMatchObject({ code: "not_found" });
  });
});
