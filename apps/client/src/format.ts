import type { BalancerStatus, ClusterStatus, FileStatus, FsckReport, HaStatus } from "@trainfs/client";
import { formatSize } from "@trainfs/core";

/** One line per entry, like `hdfs dfs -ls`: type, replication, size, time, path. */
export function formatListing(entries: FileStatus[], human = false): string {
  const size = (n: number) => (human ? formatSize(n) : String(n));
  const width = Math.max(1, ...entries.map((e) => size(e.size).length));
  return entries
    .map((e) => {
      const kind = e.type === "directory" ? "d" : "-";
      const replication = e.type === "directory" ? "-" : String(e.replication);
      const time = e.modificationTime.toISOString().slice(0, 16).replace("T", " ");
      return `${kind} ${replication.padStart(2)} ${size(e.size).padStart(width)} ${time} ${e.path}`;
    })
    .join("\n");
}

/** The cluster report for people, like `hdfs dfsadmin -report`. */
/** The NameNodes' roles, first in `admin report`; nothing for a single NameNode. */
export function formatHaStatus(h: HaStatus): string {
  if (!h.haEnabled) return "";
  const lines = [`NameNodes (high availability, epoch ${h.epoch}): active ${h.activeAddress || "none elected"}`];
  for (const m of h.members) lines.push(`  ${m.address}  ${m.role}, applied seq ${m.appliedSeq}`);
  return lines.join("\n");
}

export function formatReport(s: ClusterStatus): string {
  const lines = [
    `Cluster ${s.clusterId}${s.version ? ` (NameNode ${s.version})` : ""}`,
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
    // Packed chunks' deleted records hold disk space until compaction gives it back.
    if (d.volumeDeadBytes > 0 || d.compactionReclaimedBytesTotal > 0) {
      lines.push(`  packed volumes: ${formatSize(d.volumeDeadBytes)} deleted not yet compacted, ${formatSize(d.compactionReclaimedBytesTotal)} reclaimed since start`);
    }
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

/** Capacity like `hdfs dfs -df`: non-DFS used is what else fills the DataNodes' disks. */
export interface DiskUsage {
  capacityBytes: number;
  usedBytes: number;
  nonDfsUsedBytes: number;
  freeBytes: number;
  usedPercent: number;
}

export function diskUsage(s: ClusterStatus): DiskUsage {
  const live = s.datanodes.filter((d) => d.state === "alive");
  const capacityBytes = live.reduce((n, d) => n + d.capacityBytes, 0);
  const usedBytes = live.reduce((n, d) => n + d.usedBytes, 0);
  const freeBytes = live.reduce((n, d) => n + d.freeBytes, 0);
  return {
    capacityBytes,
    usedBytes,
    nonDfsUsedBytes: Math.max(0, capacityBytes - freeBytes - usedBytes),
    freeBytes,
    usedPercent: capacityBytes ? (100 * usedBytes) / capacityBytes : 0,
  };
}

export function formatDiskUsage(u: DiskUsage, where: string, human: boolean): string {
  const show = (n: number) => (human ? formatSize(n) : String(n));
  const cols = [show(u.capacityBytes), show(u.usedBytes), show(u.nonDfsUsedBytes), show(u.freeBytes), `${u.usedPercent.toFixed(0)}%`];
  const head = ["Size", "Used", "NonDFSUsed", "Available", "Use%"];
  const w = cols.map((c, i) => Math.max(c.length, head[i]!.length));
  const fsWidth = Math.max("Filesystem".length, where.length);
  return [
    ["Filesystem".padEnd(fsWidth), ...head.map((h, i) => h.padStart(w[i]!))].join("  "),
    [where.padEnd(fsWidth), ...cols.map((c, i) => c.padStart(w[i]!))].join("  "),
  ].join("\n");
}
