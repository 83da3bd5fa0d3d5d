import { Metrics } from "@trainfs/common";
import type { NameNodeParts } from "./namenode-service.js";

/** The NameNode's gauges, read from its live state at each scrape of /metrics. */
export function nameNodeMetrics(p: NameNodeParts): Metrics {
  const m = new Metrics("namenode");
  m.gauge("trainfs_datanodes", "DataNodes by state (alive/dead) and admin state.", ["state", "admin_state"], (g) => {
    for (const n of p.datanodes.all()) g.inc({ state: n.live ? "alive" : "dead", admin_state: n.adminState });
  });
  const perNode = (name: string, help: string, value: (n: ReturnType<NameNodeParts["datanodes"]["all"]>[number]) => number) =>
    m.gauge(name, help, ["datanode", "address"], (g) => {
      for (const n of p.datanodes.all()) g.set({ datanode: n.id, address: n.address }, value(n));
    });
  perNode("trainfs_datanode_capacity_bytes", "Capacity each DataNode reported.", (n) => n.capacityBytes);
  perNode("trainfs_datanode_free_bytes", "Free space each DataNode reported.", (n) => n.freeBytes);
  perNode("trainfs_datanode_used_bytes", "Bytes of chunk files each DataNode reported.", (n) => n.usedBytes);
  perNode("trainfs_datanode_chunks", "Chunks each DataNode reported.", (n) => n.chunkCount);
  perNode("trainfs_datanode_heartbeat_age_seconds", "Seconds since each DataNode's last heartbeat (-1: never since start).", (n) =>
    n.lastHeartbeatMs ? (p.now() - n.lastHeartbeatMs) / 1000 : -1,
  );
  m.gauge("trainfs_chunks_under_replicated", "Chunks with fewer live replicas than their replication (at least one).", [], (g) => g.set(p.queue.counts().underReplicated));
  m.gauge("trainfs_chunks_missing", "Chunks with no live replica.", [], (g) => g.set(p.queue.counts().missing));
  m.gauge("trainfs_replicas_corrupt", "Replicas found bad and not yet trashed.", [], (g) => g.set(p.corrupt.count()));
  m.gauge("trainfs_replication_tasks_pending", "Copies handed out and not finished.", [], (g) => g.set(p.pending.count()));
  m.gauge("trainfs_trash_tasks_pending", "Chunk deletions DataNodes owe.", [], (g) => g.set(p.trash.count()));
  m.gauge("trainfs_safe_mode", "1 while in safe mode.", [], (g) => g.set(p.safeMode.isOn ? 1 : 0));
  m.gauge("trainfs_chunks", "Chunks the NameNode knows (files and writes in progress).", [], (g) => g.set(p.store.chunkCount()));
  m.gauge("trainfs_writes_in_progress", "Files under construction.", [], (g) => g.set(p.store.uploads.getCount()));
  return m;
}
