import type { Logger } from "@trainfs/common";
import type { ChunkMap } from "./chunk-map.js";
import type { CorruptReplicas } from "./corrupt-replicas.js";
import type { DataNodeManager } from "./datanode-manager.js";
import type { MetadataStore } from "./metadata-store.js";
import type { PendingReplications } from "./pending-replications.js";
import { rankTargets } from "./placement-policy.js";
import { MISSING, surplusPriority, underReplicatedPriority, type ReplicationQueue } from "./replication-queue.js";
import type { Trash } from "./trash.js";

export interface ReplicationSettings {
  /** Copies a DataNode may take part in at once, as source or target. */
  maxReplicationStreams: number;
  /** A copy not finished within this is planned again. */
  replicationTimeoutMs: number;
  /** Queue entries looked at per round. */
  maxChunksPerRound: number;
}

interface Replicas {
  /** Live holders in normal service: the replicas that count. */
  counted: string[];
  /** Every live holder, draining ones included: possible sources. */
  live: string[];
  replication: number;
  length: number;
}

/**
 * Keeps every chunk at its file's replication factor (the founding flows'
 * ReplicationBalance, docs/founding-flows.md; HDFS's RedundancyMonitor). Each
 * round it gives up timed-out copies, plans copies for the most endangered
 * chunks (a live source that holds the chunk, live targets that do not, within
 * each node's stream limit), trims surplus replicas on the fullest nodes, and
 * marks draining DataNodes decommissioned once nothing depends on them. Copies
 * reach their sources through heartbeat responses.
 */
export class ReplicationMonitor {
  /** The nodes of the last failed attempt per chunk, avoided when there is a choice. */
  private readonly lastAttempt = new Map<string, string[]>();

  constructor(
    private readonly store: MetadataStore,
    private readonly chunkMap: ChunkMap,
    private readonly datanodes: DataNodeManager,
    private readonly queue: ReplicationQueue,
    private readonly pending: PendingReplications,
    private readonly trash: Trash,
    private readonly corrupt: CorruptReplicas,
    private readonly settings: ReplicationSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Puts a chunk in the queue at the right priority, or takes it out; inside `store.write`. */
  recheck(chunkId: string): void {
    const replicas = this.replicasOf(chunkId);
    if (!replicas) {
      this.queue.remove(chunkId);
      return;
    }
    const { counted, live, replication } = replicas;
    if (live.length === 0) this.queue.put(chunkId, MISSING);
    else if (counted.length < replication) this.queue.put(chunkId, underReplicatedPriority(counted.length));
    else if (counted.length > replication) this.queue.put(chunkId, surplusPriority(counted.length));
    else this.queue.remove(chunkId);
    // While a good copy exists, bad ones are worth nothing: trash them, which
    // also frees their nodes to take a good copy (HDFS invalidates corrupt
    // replicas once the minimum replication is met, for the same reason).
    // With no good copy left, they stay on disk for whoever must recover them.
    if (live.length > 0) this.corrupt.dispose(chunkId, this.now());
  }

  /** A DataNode committed a chunk; finishes the copy it was the target of. Inside `store.write`. */
  onCommit(chunkId: string, datanodeId: string): void {
    this.corrupt.replaced(chunkId, datanodeId);
    const task = this.pending.get(chunkId);
    if (task?.targetIds.includes(datanodeId)) {
      const holders = new Set(this.chunkMap.replicas(chunkId).map((r) => r.datanodeId));
      if (task.targetIds.every((t) => holders.has(t))) {
        this.pending.remove(chunkId);
        this.lastAttempt.delete(chunkId);
      }
    }
    this.recheck(chunkId);
  }

  /**
   * A node was declared dead: copies it was to send or receive will never
   * finish, so they are planned again now rather than after
   * replicationTimeoutMs. Inside `store.write`.
   */
  onNodeDead(datanodeId: string): void {
    for (const task of this.pending.all()) {
      if (task.sourceId !== datanodeId && !task.targetIds.includes(datanodeId)) continue;
      this.giveUp(task.chunkId);
      this.logger.info({ chunkId: task.chunkId, dead: datanodeId }, "replication involved a dead node; planning it again");
    }
  }

  /** A source could not copy these chunks; plan them again. Inside `store.write`. */
  onFailed(sourceId: string, chunkIds: readonly string[]): void {
    for (const chunkId of chunkIds) {
      const task = this.pending.get(chunkId);
      if (task?.sourceId !== sourceId) continue;
      this.giveUp(chunkId);
      this.logger.warn({ chunkId, source: sourceId }, "replication failed at its source; planning it again");
    }
  }

  /** One round of work; skipped by the caller while in safe mode. */
  async runOnce(): Promise<void> {
    const nowMs = this.now();
    const planned = await this.store.write(() => {
      for (const task of this.pending.expired(nowMs, this.settings.replicationTimeoutMs)) {
        this.logger.warn({ chunkId: task.chunkId, source: task.sourceId, targets: task.targetIds }, "replication timed out; planning it again");
        this.giveUp(task.chunkId);
      }
      const streams = this.pending.streamsByNode();
      let count = 0;
      for (const chunkId of this.queue.ordered(this.settings.maxChunksPerRound)) {
        if (this.pending.get(chunkId)) continue;
        if (this.fix(chunkId, streams, nowMs)) count++;
      }
      this.updateDecommissioning();
      return count;
    });
    if (planned > 0) this.logger.info({ planned }, "replication planned");
  }

  /** Plans a copy or trims a surplus for one queued chunk; true if a copy was planned. */
  private fix(chunkId: string, streams: Map<string, number>, nowMs: number): boolean {
    const replicas = this.replicasOf(chunkId);
    if (!replicas) {
      this.queue.remove(chunkId);
      return false;
    }
    const { counted, live, replication, length } = replicas;
    if (counted.length > replication) {
      this.trimSurplus(chunkId, counted, counted.length - replication, nowMs);
      this.recheck(chunkId);
      return false;
    }
    if (counted.length === replication || live.length === 0) {
      this.recheck(chunkId);
      return false;
    }
    const limit = this.settings.maxReplicationStreams;
    const avoid = new Set(this.lastAttempt.get(chunkId) ?? []);
    const sources = live
      .filter((id) => (streams.get(id) ?? 0) < limit)
      .sort((a, b) => Number(avoid.has(a)) - Number(avoid.has(b)) || (streams.get(a) ?? 0) - (streams.get(b) ?? 0));
    // A node still owing the deletion of a (bad or surplus) copy is no target:
    // that deletion would remove the good copy.
    const candidates = this.datanodes
      .placementCandidates()
      .filter((c) => !live.includes(c.id) && !this.trash.has(c.id, chunkId) && (streams.get(c.id) ?? 0) < limit);
    const ranked = rankTargets(candidates, length);
    const preferred = [...ranked.filter((id) => !avoid.has(id)), ...ranked.filter((id) => avoid.has(id))];
    const targets = preferred.slice(0, replication - counted.length);
    const source = sources[0];
    if (!source || targets.length === 0) return false;
    this.pending.add({ chunkId, sourceId: source, targetIds: targets, issuedMs: nowMs });
    for (const id of [source, ...targets]) streams.set(id, (streams.get(id) ?? 0) + 1);
    return true;
  }

  /** Sends the surplus replicas on the fullest nodes to trash. */
  private trimSurplus(chunkId: string, counted: string[], surplus: number, nowMs: number): void {
    const fullest = [...counted].sort((a, b) => this.datanodes.freeBytes(a) - this.datanodes.freeBytes(b)).slice(0, surplus);
    for (const datanodeId of fullest) {
      this.chunkMap.removeReplica(chunkId, datanodeId);
      this.trash.add(datanodeId, chunkId, nowMs);
    }
    this.logger.info({ chunkId, trimmed: fullest }, "surplus replicas sent to trash");
  }

  private giveUp(chunkId: string): void {
    const task = this.pending.remove(chunkId);
    if (task) this.lastAttempt.set(chunkId, [task.sourceId, ...task.targetIds]);
    this.recheck(chunkId);
  }

  /** A draining node is decommissioned once every chunk on it has its full count elsewhere. */
  private updateDecommissioning(): void {
    for (const node of this.datanodes.all()) {
      if (node.adminState !== "decommissioning") continue;
      const done = this.chunkMap.chunksOn(node.id).every((chunkId) => {
        const r = this.replicasOf(chunkId);
        return !r || r.counted.length >= r.replication;
      });
      if (done) {
        this.datanodes.setAdminState(node.id, "decommissioned");
        this.logger.info({ datanodeId: node.id }, "DataNode decommissioned: it can be stopped");
      }
    }
  }

  /** Live replicas of a complete file's chunk; undefined for chunks of writes in progress or gone. */
  private replicasOf(chunkId: string): Replicas | undefined {
    const chunk = this.store.chunks.get(chunkId);
    if (!chunk || chunk.inodeId === undefined) return undefined;
    const inode = this.store.inodes.get(chunk.inodeId);
    if (!inode) return undefined;
    const live = this.chunkMap.liveHolders(chunk);
    const counted = live.filter((id) => this.datanodes.adminState(id) === "normal");
    return { counted, live, replication: inode.replication, length: chunk.length };
  }
}
