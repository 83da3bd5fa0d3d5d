import { Metrics } from "@trainfs/common";
import type { ChunkStore } from "./chunk-store.js";
import type { TaskStore } from "./task-store.js";

interface Count {
  inc(value?: number): void;
}

export interface DataNodeMetrics {
  metrics: Metrics;
  bytesWritten: Count;
  bytesRead: Count;
  scrubbed: Count;
  badReplicas: Count;
  verifications: { inc(labels: { result: "good" | "bad" }): void };
  /** Chunk bytes read and written since start, as plain numbers (reported in heartbeats). */
  traffic: { read: number; written: number };
  /** Times one chunk's final fsync. */
  fsyncSeconds: { observe(seconds: number): void };
  /** Reports the part uploads open at each scrape. */
  trackPartUploads(uploads: { openCount: number }): void;
  /** Reports how far behind its period the scrubber is at each scrape. */
  trackScrubber(scrubber: { overdueSeconds: number }, periodMs: number): void;
  /** Reports the stored chunks not yet reported to the NameNode at each scrape. */
  trackReports(link: { pendingReports: number }): void;
}

/** The DataNode's metrics: traffic counters, and gauges read from its store at each scrape of /metrics. */
export function dataNodeMetrics(store: ChunkStore, tasks: TaskStore): DataNodeMetrics {
  const m = new Metrics("datanode");
  const traffic = { read: 0, written: 0 };
  const written = m.counter("trainfs_datanode_bytes_written_total", "Bytes received into chunks (writes and replica copies).");
  const read = m.counter("trainfs_datanode_bytes_read_total", "Chunk bytes sent to readers.");
  const counters = {
    traffic,
    bytesWritten: { inc: (n = 1) => (written.inc(n), (traffic.written += n)) },
    bytesRead: { inc: (n = 1) => (read.inc(n), (traffic.read += n)) },
    fsyncSeconds: m.histogram(
      "trainfs_datanode_fsync_seconds",
      "Time of each fsync a write's acknowledgement waits for: a plain chunk's final fsync, or a group fsync covering packed records.",
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    scrubbed: m.counter("trainfs_scrub_chunks_verified_total", "Chunks the scrubber read and verified."),
    badReplicas: m.counter("trainfs_bad_replicas_total", "Replicas found bad (by reads, the scrubber or a verification) and quarantined."),
    verifications: m.counter("trainfs_datanode_verifications_total", "Replicas verified because the NameNode asked (a reader suspected them), by outcome (result=good|bad).", ["result"]),
  };
  m.gauge("trainfs_datanode_chunks", "Chunks held.", [], (g) => g.set(store.chunkCount));
  m.gauge("trainfs_datanode_used_bytes", "Bytes of chunk files held.", [], (g) => g.set(store.usedBytes));
  m.gauge("trainfs_datanode_packed_chunks", "Chunks held packed in volumes (the rest are plain files).", [], (g) => g.set(store.volumes.liveCount));
  m.gauge("trainfs_datanode_volume_bytes", "Bytes of volume files by kind (kind=live|dead): dead bytes are deleted records not yet compacted away.", ["kind"], (g) => {
    let live = 0;
    let dead = 0;
    for (const v of store.volumes.volumeStats()) {
      live += v.liveBytes;
      dead += v.deadBytes;
    }
    g.set({ kind: "live" }, live);
    g.set({ kind: "dead" }, dead);
  });
  m.counterFrom("trainfs_datanode_compaction_reclaimed_bytes_total", "Bytes of volume files given back to the disk by compaction since start.", [], (set) => set({}, store.volumes.reclaimedBytes));
  m.counterFrom("trainfs_datanode_compactions_total", "Volumes rewritten without their dead records since start.", [], (set) => set({}, store.volumes.compactions));
  m.gauge("trainfs_datanode_disk_bytes", "Capacity and free space offered (kind=capacity|free).", ["kind"], async (g) => {
    const space = await store.space();
    g.set({ kind: "capacity" }, space.capacityBytes);
    g.set({ kind: "free" }, space.freeBytes);
  });
  m.gauge("trainfs_datanode_tasks_pending", "Tasks received from the NameNode and not finished (kind=trash|replication).", ["kind"], (g) => {
    g.set({ kind: "trash" }, tasks.trash.getCount());
    g.set({ kind: "replication" }, tasks.replications.getCount());
  });
  let partUploads: { openCount: number } | undefined;
  m.gauge("trainfs_datanode_part_uploads_open", "Chunk uploads in unary parts (browsers) in progress.", [], (g) => g.set(partUploads?.openCount ?? 0));
  let reports: { pendingReports: number } | undefined;
  m.gauge(
    "trainfs_datanode_reports_pending",
    "Stored chunks not yet reported to the NameNode (CommitChunk); grows while the NameNode cannot be reached.",
    [],
    (g) => g.set(reports?.pendingReports ?? 0),
  );
  let scrubber: { overdueSeconds: number } | undefined;
  let scrubPeriodMs = 0;
  m.gauge(
    "trainfs_scrub_overdue_seconds",
    "How long past its due time the oldest chunk not yet re-verified is; 0 while the scrubber keeps to its period.",
    [],
    (g) => g.set(scrubber?.overdueSeconds ?? 0),
  );
  m.gauge("trainfs_scrub_period_seconds", "The scrubber's period: every chunk is re-verified once per period.", [], (g) => g.set(scrubPeriodMs / 1000));
  return {
    metrics: m,
    ...counters,
    trackPartUploads: (u) => (partUploads = u),
    trackReports: (l) => (reports = l),
    trackScrubber: (s, periodMs) => ((scrubber = s), (scrubPeriodMs = periodMs)),
  };
}
