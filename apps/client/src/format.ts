import type { BalancerStatus, ClusterStatus, FileStatus, FsckReport } from "@trainfs/client";
import { formatSize } from "@trainfs/core";

/** One line per entry, like `hdfs dfs -ls`: type, replication, size, time, path. */
export function formatListing(entries: FileStatus[]): string {
  const width = Math.max(1, ...entries.map((e) => String(e.size).length));
  return entries
    .map((e) => {
      const kind = e.type === "directory" ? "d" : "-";
      const replication = e.type === "directory" ? "-" : String(e.replication);
      const time = e.modificationTime.toISOString().slice(0, 16).replace("T", " ");
      return `${kind} ${replication.padStart(2)} ${String(e.size).padStart(width)} ${time} ${e.path}`;
    })
    .join("\n");
}

/** The cluster report for people, like `hdfs dfsadmin -report`. */
export function formatReport(s: ClusterStatus): string {
  const lines = [
    `Cluster ${s.clusterId}`,
    `Safe mode: ${s.safeMode.on ? `ON (${s.safeMode.reportedChunks} of ${s.safeMode.totalChunks} chunks reported, need ${s.safeMode.threshold * 100}%)` : "off"}`,
    `Under-replicated chunks: ${s.underReplicatedChunks}   Missing chunks: ${s.missingChunks}   Corrupt replicas: ${s.corruptReplicas}`,
    `Pending replication tasks: ${s.pendingReplicationTasks}   Pending trash tasks: ${s.pendingTrashTasks}   Misplaced chunks: ${s.misplacedChunks}`,
    formatBalancer(s.balancer),
    `DataNodes: ${s.datanodes.filter((d) => d.state === "alive").length} alive, ${s.datanodes.filter((d) => d.state === "dead").length} dead`,
    "",
  ];
  for (const d of s.datanodes) {
    const heard = d.secondsSinceHeartbeat === null ? "never since start" : `${d.secondsSinceHeartbeat.toFixed(1)} s ago`;
    lines.push(
      `${d.address}  ${d.id}${d.zone ? `  zone ${d.zone}` : ""}`,
      `  state ${d.state}${d.adminState === "normal" ? "" : `, ${d.adminState}`}; last heartbeat ${heard}`,
      `  capacity ${formatSize(d.capacityBytes)}, used ${formatSize(d.usedBytes)}, free ${formatSize(d.freeBytes)}, ${d.chunkCount} chunks`,
    );
  }
  return lines.join("\n");
}

/** One line on the balancer, for the report and `admin balance`. */
export function formatBalancer(b: BalancerStatus): string {
  const progress = `${b.movesDone} moves, ${formatSize(b.bytesMoved)} moved, largest deviation from the mean ${b.maxDeviationPercent.toFixed(1)} points`;
  if (b.running) return `Balancer: running (threshold ${b.thresholdPercent}%, ${b.movesInFlight} moves in flight; ${progress})`;
  return `Balancer: not running${b.stopReason ? ` (${b.stopReason})` : ""}; ${progress}`;
}

/** fsck for people: problems first, one line each, then the totals, like `hdfs fsck`. */
export function formatFsck(r: FsckReport): string {
  const lines: string[] = [];
  for (const f of r.files) {
    for (const c of f.chunks) {
      if (c.health === "healthy") continue;
      const bad = c.corruptReplicas.length ? `; corrupt on ${c.corruptReplicas.join(", ")}` : "";
      lines.push(`${f.path}: chunk ${c.index} (${c.chunkId}) ${c.health.toUpperCase()}: ${c.liveReplicas.length} of ${f.replication} good replicas${bad}`);
    }
  }
  lines.push(
    `Files: ${r.files.length}`,
    `Chunks: ${r.healthyChunks} healthy, ${r.underReplicatedChunks} under-replicated, ${r.corruptChunks} corrupt, ${r.missingChunks} missing`,
    `Status: ${r.healthy ? "HEALTHY" : "CORRUPT"}`,
  );
  return lines.join("\n");
}
