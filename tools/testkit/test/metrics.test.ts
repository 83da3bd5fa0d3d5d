import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { TrainfsWebClient } from "@trainfs/client/web";
import { RpcClients } from "@trainfs/common";
import { WriteChunkRequestSchema } from "@trainfs/proto";
import { cluster, eventually, metricSum, scrapeMetrics } from "./helpers.js";

describe("/metrics", () => {
  it("exposes RPCs, cluster health and DataNode traffic in Prometheus format", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100 });
    const fs = c.client({ chunkSize: 64 * 1024 });
    await fs.writeFile("/m", Buffer.alloc(200_000, 3));
    await fs.readFile("/m");
    await fs.stat("/nope").catch(() => {});

    const nn = await scrapeMetrics(c.nameNodeAddress);
    expect(metricSum(nn, "trainfs_rpc_requests_total", 'method="PutFile"', 'code="ok"')).toBe(1);
    expect(metricSum(nn, "trainfs_rpc_requests_total", 'method="Stat"', 'code="not_found"')).toBe(1);
    expect(metricSum(nn, "trainfs_rpc_duration_seconds_count", 'method="HeartBeat"')).toBeGreaterThan(0);
    expect(metricSum(nn, "trainfs_datanodes", 'state="alive"', 'admin_state="normal"')).toBe(3);
    expect(metricSum(nn, "trainfs_chunks_under_replicated")).toBe(0);
    expect(metricSum(nn, "trainfs_chunks{")).toBe(4);
    expect(metricSum(nn, "trainfs_safe_mode")).toBe(0);
    expect(metricSum(nn, "trainfs_datanode_heartbeat_age_seconds")).toBeGreaterThanOrEqual(0);
    expect(metricSum(nn, "trainfs_process_resident_memory_bytes")).toBeGreaterThan(0);

    const dns = await Promise.all([0, 1, 2].map((i) => scrapeMetrics(c.dataNodeAddress(i))));
    expect(dns.reduce((s, m) => s + metricSum(m, "trainfs_datanode_bytes_written_total"), 0)).toBe(3 * 200_000);
    expect(dns.reduce((s, m) => s + metricSum(m, "trainfs_datanode_bytes_read_total"), 0)).toBeGreaterThanOrEqual(200_000);
    for (const m of dns) {
      expect(metricSum(m, "trainfs_datanode_chunks")).toBe(4);
      expect(metricSum(m, "trainfs_datanode_disk_bytes", 'kind="free"')).toBeGreaterThan(0);
    }
  });

  it("counts files, directories and the cluster's disk once, names the build, times fsyncs, and keeps a history the console charts", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100, nameNode: { historyIntervalMs: 200 } });
    const web = new TrainfsWebClient({ namenode: c.nameNodeAddress });
    // Rates come from the growth of each DataNode's totals between two samples: traffic starts once every node is in the history.
    await eventually(async () => {
      const h = await web.clusterHistory();
      expect(h.datanodes.filter((n) => Number.isFinite(n.writeBytesPerSecond.at(-1)))).toHaveLength(3);
    }, 10_000);
    const fs = c.client({ chunkSize: 64 * 1024 });
    await fs.writeFile("/a/b/one", Buffer.alloc(100_000, 1));
    await fs.writeFile("/a/two", Buffer.alloc(10, 2));
    await fs.readFile("/a/b/one");
    const nn = await scrapeMetrics(c.nameNodeAddress);
    expect(metricSum(nn, "trainfs_files{")).toBe(2);
    expect(metricSum(nn, "trainfs_directories{")).toBe(3);
    expect(metricSum(nn, "trainfs_build_info{", 'version="')).toBe(1);
    expect(metricSum(nn, "trainfs_rpc_in_flight{", 'method="PutFile"')).toBe(0);
    expect([...nn.keys()].some((k) => k.startsWith("trainfs_replication_copies_total{") && k.includes('result="finished"'))).toBe(true);
    expect([...nn.keys()].some((k) => k.startsWith("trainfs_replication_bytes_total"))).toBe(true);
    // The three DataNodes share this machine's disk: counted once, not three times.
    const dn0 = await scrapeMetrics(c.dataNodeAddress(0));
    const disk = metricSum(dn0, "trainfs_datanode_disk_bytes", 'kind="capacity"');
    await eventually(async () => {
      const m = await scrapeMetrics(c.nameNodeAddress);
      expect(metricSum(m, "trainfs_cluster_capacity_bytes")).toBe(disk);
      expect(metricSum(m, "trainfs_cluster_dfs_used_bytes")).toBe(3 * 100_010);
      const free = metricSum(m, "trainfs_cluster_free_bytes");
      expect(free).toBeGreaterThan(0);
      expect(metricSum(m, "trainfs_cluster_non_dfs_used_bytes")).toBe(Math.max(0, disk - free - 3 * 100_010));
    });
    for (const i of [0, 1, 2]) expect(metricSum(await scrapeMetrics(c.dataNodeAddress(i)), "trainfs_datanode_fsync_seconds_count")).toBeGreaterThanOrEqual(2);
    // The history: the read and writes above show as throughput once heartbeats carried them.
    const h = await eventually(async () => {
      const got = await web.clusterHistory();
      const written = got.writeBytesPerSecond.filter(Number.isFinite).reduce((a, b) => a + b, 0);
      expect(written).toBeGreaterThan(0);
      expect(got.readBytesPerSecond.filter(Number.isFinite).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(got.rpcPerSecond.some((v) => v > 0)).toBe(true);
      return got;
    }, 10_000);
    expect(h.stepMs).toBe(200);
    expect(h.datanodes).toHaveLength(3);
    expect(h.capacityBytes.at(-1)).toBe(disk);
    for (const n of h.datanodes) expect(n.heartbeatAgeSeconds.filter(Number.isFinite).every((a) => a >= 0 && a < 5)).toBe(true);
    // Only newer samples when asked; a time beyond what a number holds is refused, not crashed on.
    const newer = await web.clusterHistory(h.timesMs.at(-2)!);
    expect(newer.timesMs[0]).toBeGreaterThan(h.timesMs.at(-2)!);
    await expect(web.clusterHistory(2 ** 60)).rejects.toMatchObject({ code: "invalid_argument" });
    const status = await web.clusterStatus();
    expect(status).toMatchObject({ files: 2, directories: 3, chunks: 3, replicationBlocked: "" });
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(status.space.capacityBytes).toBe(disk);
  });

  it("counts a browser-style put (unary parts) in the RPC and traffic counters", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100 });
    const before = await Promise.all([0, 1, 2].map((i) => scrapeMetrics(c.dataNodeAddress(i))));
    const web = new TrainfsWebClient({ namenode: c.nameNodeAddress, chunkSize: 1024 * 1024 });
    await web.put(new Uint8Array(3 * 1024 * 1024 + 10).fill(5), "/parts");
    const after = await Promise.all([0, 1, 2].map((i) => scrapeMetrics(c.dataNodeAddress(i))));
    const sum = (ms: Map<string, number>[], prefix: string, ...parts: string[]) => ms.reduce((s, m) => s + metricSum(m, prefix, ...parts), 0);
    expect(sum(after, "trainfs_datanode_bytes_written_total") - sum(before, "trainfs_datanode_bytes_written_total")).toBe(3 * (3 * 1024 * 1024 + 10));
    // 4 chunks of 1 part each, on 3 nodes of each chain.
    expect(sum(after, "trainfs_rpc_requests_total", 'method="WriteChunkPart"', 'code="ok"')).toBe(12);
    expect(sum(after, "trainfs_datanode_part_uploads_open")).toBe(0);
    const nn = await scrapeMetrics(c.nameNodeAddress);
    expect(metricSum(nn, "trainfs_rpc_requests_total", 'method="ConfirmFile"', 'code="ok"')).toBe(1);
    expect(metricSum(nn, "trainfs_chunks{")).toBe(4);
  });

  it("shows stored chunks waiting to be reported while the NameNode is away, and none once it answered", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100 });
    const restarting = c.restartNameNode({ downMs: 3000 });
    await eventually(async () => expect(await fetch(`${c.nameNodeAddress}/healthz`).then(() => "up", () => "down")).toBe("down"));
    // A chunk no write owns, stored while no NameNode can be told.
    const rpc = new RpcClients();
    const chunkId = "cd".repeat(16);
    await rpc.dataNode(c.dataNodeAddress(0)).writeChunk(
      (async function* () {
        yield create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId, length: 4n } } });
        yield create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(4) } });
        yield create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum: 0x2144df1c } } }); // CRC-32 of four zero bytes
      })(),
    );
    await eventually(async () => expect(metricSum(await scrapeMetrics(c.dataNodeAddress(0)), "trainfs_datanode_reports_pending")).toBe(1));
    expect(await c.chunkFiles(0)).toEqual([chunkId]);
    await restarting;
    // Reported again once the NameNode is back, refused (no write owns it), and dropped.
    await eventually(async () => {
      expect(metricSum(await scrapeMetrics(c.dataNodeAddress(0)), "trainfs_datanode_reports_pending")).toBe(0);
      expect(await c.chunkFiles(0)).toEqual([]);
    });
    rpc.close();
  });
});
