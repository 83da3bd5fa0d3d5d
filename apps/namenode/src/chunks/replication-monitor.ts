import type { Logger } from "@trainfs/common";
import type { DataNodeManager } from "../datanode-manager.js";
import type { MetadataStore } from "../metadata-store.js";
import type { Balancer } from "./balancer.js";
import type { ReplicaCount } from "./chunk-manager.js";
import type { ChunkMap } from "./chunk-map.js";
import type { CorruptReplicas } from "./corrupt-replicas.js";
import type { PendingReplications } from "./pending-replications.js";
import type { PlacementNode, PlacementPolicy } from "./placement-policy.js";
import { MISPLACED, MISSING, surplusPriority, underReplicatedPriority, type ReplicationQueue } from "./replication-queue.js";
import type { Trash } from "./trash.js";

export interface ReplicationSettings {
  /** Copies a DataNode may take part in at once, as source or target. */
  maxReplicationStreams: number;
  /** A copy not finished within this is planned again. */
  replicationTimeoutMs: number;
  /** Queue entries looked at per round. */
  maxChunksPerRound: number;
}

/**
 * Keeps every chunk at its file's replication factor and placed as the
 * placement policy wants (the founding flows' ReplicationBalance,
 * docs/founding-flows.md; HDFS's RedundancyMonitor). Each round it gives up
 * timed-out copies, plans copies for the most endangered chunks (a live
 * source that holds the chunk, targets the placement policy chooses, within
 * each node's stream limit), copies a misplaced chunk into another zone,
 * trims surplus replicas as the policy chooses, and marks draining DataNodes
 * decommissioned once nothing depends on them. Copies reach their sources
 * through heartbeat responses. Part of the chunk manager.
 */
export class ReplicationMonitor {
  /** The nodes of the last failed attempt per chunk, avoided when there is a choice. */
  private readonly lastAttempt = new Map<string, string[]>();
  private zones: { atMs: number; zones: ReadonlySet<string> } | undefined;
  /** Copies finished and given up (failed, timed out, a node died) since start, and bytes the finished ones wrote. */
  readonly stats = { copiesFinished: 0, copiesFailed: 0, bytesCopied: 0 };
  /** Why the last round planned no copy for some under-replicated chunks; undefined when none was stuck. */
  blocked: { chunks: number; needed: number; inService: number; noRoom: number } | undefined;
  private stuck = { chunks: 0, needed: 0, noRoom: 0 };

  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
    private readonly map: ChunkMap,
    private readonly queue: ReplicationQueue,
    private readonly pending: PendingReplications,
    private readonly trash: Trash,
    private readonly corrupt: CorruptReplicas,
    private readonly placement: PlacementPolicy,
    private readonly balancer: Balancer,
    private readonly count: (chunkId: string) => ReplicaCount | undefined,
    private readonly settings: ReplicationSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Puts a chunk in the queue at the right priority, or takes it out; inside `store.write`. */
  recheck(chunkId: string): void {
    const c = this.count(chunkId);
    if (!c) {
      this.queue.remove(chunkId);
      return;
    }
    const { inService, live, replication } = c;
    if (live.length === 0) this.queue.put(chunkId, MISSING);
    else if (inService.length < replication) this.queue.put(chunkId, underReplicatedPriority(inService.length));
    else if (inService.length > replication) this.queue.put(chunkId, surplusPriority(inService.length));
    else if (!this.placedWell(inService, replication)) this.queue.put(chunkId, MISPLACED);
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
      const holders = new Set(this.count(chunkId)?.live ?? []);
      if (task.targetIds.every((t) => holders.has(t))) {
        this.stats.copiesFinished++;
        this.stats.bytesCopied += (this.count(chunkId)?.chunk.length ?? 0) * task.targetIds.length;
        this.pending.remove(chunkId);
        this.lastAttempt.delete(chunkId);
        this.balancer.copied(chunkId);
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
      const nodes = new Map(this.datanodes.placementNodes().map((n) => [n.id, n] as const));
      let count = 0;
      this.stuck = { chunks: 0, needed: 0, noRoom: 0 };
      for (const chunkId of this.queue.ordered(this.settings.maxChunksPerRound)) {
        if (this.pending.get(chunkId)) continue;
        if (this.fix(chunkId, streams, nodes, nowMs)) count++;
      }
      this.blocked = this.stuck.chunks > 0 ? { ...this.stuck, inService: nodes.size } : undefined;
      this.updateDecommissioning();
      return count;
    });
    if (planned > 0) this.logger.info({ planned }, "replication planned");
  }

  /** Plans a copy or trims a surplus for one queued chunk; true if a copy was planned. */
  private fix(chunkId: string, streams: Map<string, number>, nodes: Map<string, PlacementNode>, nowMs: number): boolean {
    const c = this.count(chunkId);
    if (!c) {
      this.queue.remove(chunkId);
      return false;
    }
    const { inService, live, replication } = c;
    if (inService.length > replication) {
      this.trimSurplus(chunkId, inService, inService.length - replication, nowMs);
      this.recheck(chunkId);
      return false;
    }
    const misplaced = inService.length === replication && !this.placedWell(inService, replication);
    if ((inService.length === replication && !misplaced) || live.length === 0) {
      this.recheck(chunkId);
      return false;
    }
    const limit = this.settings.maxReplicationStreams;
    const avoid = new Set(this.lastAttempt.get(chunkId) ?? []);
    const sources = live
      .filter((id) => (streams.get(id) ?? 0) < limit)
      .sort((a, b) => Number(avoid.has(a)) - Number(avoid.has(b)) || (streams.get(a) ?? 0) - (streams.get(b) ?? 0));
    const source = sources[0];
    if (!source) return false;
    // A node still owing the deletion of a (bad or surplus) copy is no
    // target: that deletion would remove the good copy. A misplaced chunk
    // gets one more copy, in a zone the policy picks; the surplus it makes is
    // then trimmed where the policy says, which fixes the placement.
    const busy = [...nodes.keys()].filter((id) => this.trash.has(id, chunkId) || (streams.get(id) ?? 0) >= limit);
    const targets = this.placement.chooseTargets({
      count: misplaced ? 1 : replication - inService.length,
      chunkLength: c.chunk.length,
      candidates: [...nodes.values()],
      existing: inService.map((id) => nodes.get(id)).filter((n): n is PlacementNode => n !== undefined),
      excluded: new Set([...live, ...busy]),
      avoid,
      strict: false,
    });
    if (targets.length === 0) {
      // Said beside the under-replicated count: too few nodes in service, or none with room.
      if (!misplaced) {
        this.stuck.chunks++;
        this.stuck.needed = Math.max(this.stuck.needed, replication);
        if (nodes.size >= replication) this.stuck.noRoom++;
      }
      return false;
    }
    if (misplaced && !this.placedWell([...inService, ...targets], replication + 1)) return false;
    this.pending.add({ chunkId, sourceId: source, targetIds: targets, issuedMs: nowMs });
    for (const id of [source, ...targets]) streams.set(id, (streams.get(id) ?? 0) + 1);
    return true;
  }

  /** Sends the surplus replicas the placement policy picks to trash (a balancer move's source first). */
  private trimSurplus(chunkId: string, inService: string[], surplus: number, nowMs: number): void {
    const holders = inService.map((id) => this.datanodes.placementNode(id));
    const source = this.balancer.sourceOf(chunkId);
    const chosen = this.placement.chooseReplicasToDelete(holders, surplus, source ? new Set([source]) : undefined);
    for (const datanodeId of chosen) {
      this.map.removeReplica(chunkId, datanodeId);
      this.trash.add(datanodeId, chunkId, nowMs);
    }
    this.balancer.trimmed(chunkId, chosen);
    this.logger.info({ chunkId, trimmed: chosen }, "surplus replicas sent to trash");
  }

  private giveUp(chunkId: string): void {
    const task = this.pending.remove(chunkId);
    if (task) {
      this.stats.copiesFailed++;
      this.lastAttempt.set(chunkId, [task.sourceId, ...task.targetIds]);
    }
    this.balancer.abandoned(chunkId);
    this.recheck(chunkId);
  }

  /** Whether the replicas on these in-service nodes satisfy the placement policy now. */
  private placedWell(inService: readonly string[], replication: number): boolean {
    const zones = this.liveZones();
    // With one zone every placement is fine: no per-node work for the common case.
    if (zones.size < 2) return true;
    return this.placement.verifyPlacement(inService.map((id) => this.datanodes.placementNode(id)), replication, zones).ok;
  }

  /** The set of live zones changed: judge placement against the new one from now on. */
  zonesChanged(): void {
    this.zones = undefined;
  }

  /**
   * The zones alive now, looked up at most once a second: a scan rechecks
   * every chunk, and the DataNode table need not be read for each.
   */
  private liveZones(): ReadonlySet<string> {
    const nowMs = this.now();
    if (!this.zones || nowMs - this.zones.atMs >= 1000) this.zones = { atMs: nowMs, zones: this.datanodes.liveZones() };
    return this.zones.zones;
  }

  /** A draining node is decommissioned once every chunk on it has its full count elsewhere. */
  private updateDecommissioning(): void {
    for (const node of this.datanodes.all()) {
      if (node.adminState !== "decommissioning") continue;
      const done = this.map.chunksOn(node.id).every((chunkId) => {
        const c = this.count(chunkId);
        return !c || c.inService.length >= c.replication;
      });
      if (done) {
        this.datanodes.setAdminState(node.id, "decommissioned");
        this.logger.info({ datanodeId: node.id }, "DataNode decommissioned: it can be stopped");
      }
    }
  }
}
