import { Metrics } from "@trainfs/common";
import { clusterSpace, type ClusterSpace } from "./datanode-manager.js";
import type { NameNodeParts } from "./namenode-facades.js";

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
  // One count of the queues per scrape, not one per gauge: counting a range walks its keys.
  let snapshot: { atMs: number; counts: ReturnType<NameNodeParts["chunks"]["counts"]> } | undefined;
  const current = () => {
    const nowMs = p.now();
    if (!snapshot || nowMs - snapshot.atMs > 500) snapshot = { atMs: nowMs, counts: p.chunks.counts() };
    return snapshot.counts;
  };
  const counts = (pick: (c: ReturnType<NameNodeParts["chunks"]["counts"]>) => number) => (g: { set(v: number): void }) => g.set(pick(current()));
  m.gauge("trainfs_chunks_under_replicated", "Chunks with fewer live replicas in service than their replication (at least one).", [], counts((c) => c.underReplicated));
  m.gauge("trainfs_chunks_missing", "Chunks with no live replica.", [], counts((c) => c.missing));
  m.gauge("trainfs_chunks_misplaced", "Chunks whose replicas break the placement policy (all in one zone while several are alive).", [], counts((c) => c.misplaced));
  m.gauge("trainfs_replicas_corrupt", "Replicas found bad and not yet trashed.", [], counts((c) => c.corruptReplicas));
  m.gauge("trainfs_replication_tasks_pending", "Copies handed out and not finished.", [], counts((c) => c.pendingReplications));
  m.gauge("trainfs_trash_tasks_pending", "Chunk deletions DataNodes owe.", [], counts((c) => c.pendingTrash));
  m.gauge("trainfs_replica_verifications_pending", "Replicas readers suspected, waiting for their DataNodes to verify them.", [], counts((c) => c.pendingVerifications));
  const balancer = (pick: (b: ReturnType<NameNodeParts["chunks"]["balancer"]["status"]>) => number) => (g: { set(v: number): void }) => g.set(pick(p.chunks.balancer.status()));
  m.gauge("trainfs_balancer_running", "1 while the balancer runs.", [], balancer((b) => (b.running ? 1 : 0)));
  m.gauge("trainfs_balancer_moves_done", "Replica moves the balancer finished since it started.", [], balancer((b) => b.movesDone));
  m.gauge("trainfs_balancer_bytes_moved", "Bytes the balancer moved since it started.", [], balancer((b) => b.bytesMoved));
  m.gauge("trainfs_balancer_moves_in_flight", "Balancer copies under way.", [], balancer((b) => b.movesInFlight));
  m.gauge("trainfs_balancer_max_deviation_percent", "Largest distance of a DataNode's used share from the cluster's mean, in percentage points.", [], balancer((b) => b.maxDeviationPercent));
  m.gauge("trainfs_safe_mode", "1 while in safe mode.", [], (g) => g.set(p.safeMode.isOn ? 1 : 0));
  m.gauge("trainfs_chunks", "Chunks the NameNode knows (files and writes in progress).", [], (g) => g.set(p.store.chunkCount()));
  m.gauge("trainfs_files", "Complete files in the namespace.", [], (g) => g.set(p.store.fileCount()));
  m.gauge("trainfs_directories", "Directories in the namespace, the root included.", [], (g) => g.set(p.store.directoryCount()));
  const space = (pick: (s: ClusterSpace) => number) => (g: { set(v: number): void }) => g.set(pick(clusterSpace(p.datanodes.all())));
  m.gauge("trainfs_cluster_capacity_bytes", "Capacity of the live DataNodes' disks, each disk counted once.", [], space((s) => s.capacityBytes));
  m.gauge("trainfs_cluster_dfs_used_bytes", "Bytes of chunk files on the live DataNodes.", [], space((s) => s.dfsUsedBytes));
  m.gauge("trainfs_cluster_non_dfs_used_bytes", "What other files take on the live DataNodes' disks (capacity - free - DFS used).", [], space((s) => s.nonDfsUsedBytes));
  m.gauge("trainfs_cluster_free_bytes", "Free space on the live DataNodes' disks, each disk counted once.", [], space((s) => s.freeBytes));
  m.counterFrom("trainfs_replication_copies_total", "Replica copies finished, and given up (failed at the source, timed out, a node died), since start.", ["result"], (set) => {
    const r = p.chunks.replicationStats();
    set({ result: "finished" }, r.copiesFinished);
    set({ result: "failed" }, r.copiesFailed);
  });
  m.counterFrom("trainfs_replication_bytes_total", "Bytes written by finished replica copies (chunk length times targets), since start.", [], (set) =>
    set({}, p.chunks.replicationStats().bytesCopied),
  );
  // Only draining nodes are looked at, each over its own chunks.
  m.gauge("trainfs_decommission_chunks_remaining", "Chunks on each decommissioning DataNode still short of their replication elsewhere.", ["datanode", "address"], (g) => {
    for (const n of p.datanodes.all()) {
      if (n.adminState !== "decommissioning") continue;
      const left = p.chunks.chunksOn(n.id).filter((id) => {
        const c = p.chunks.countReplicas(id);
        return c !== undefined && c.inService.length < c.replication;
      }).length;
      g.set({ datanode: n.id, address: n.address }, left);
    }
  });
  // HA: the role as a labelled 1 (active, standby or single), and how far this NameNode's copy of the log reaches.
  m.gauge("trainfs_namenode_ha_role", "This NameNode's high-availability role: 1 on the label of its role (active, standby, single).", ["role"], (g) => {
    const current = p.ha.local().role;
    for (const role of ["active", "standby", "single"]) g.set({ role }, current === role ? 1 : 0);
  });
  m.gauge("trainfs_namenode_ha_epoch", "Term of the active NameNode this one knows (the etcd revision of its election); 0 without HA.", [], (g) => g.set(p.ha.local().epoch));
  m.gauge("trainfs_namenode_ha_applied_seq", "Last metadata log entry this NameNode appended (active) or applied (standby); 0 without HA.", [], (g) => g.set(p.ha.local().appliedSeq));
  m.gauge("trainfs_writes_in_progress", "Files under construction.", [], (g) => g.set(p.store.uploads.getCount()));
  return m;
}
