import { TrainfsError, type Logger } from "@trainfs/common";
import type { DataNodeManager } from "../datanode-manager.js";
import type { LeaseManager } from "../lease-manager.js";
import type { ChunkRecord, MetadataStore, PendingReplication } from "../metadata-store.js";
import type { SafeMode } from "../safe-mode.js";
import { Balancer, type BalancerLimits } from "./balancer.js";
import { ChunkMap, type ReportedChunk } from "./chunk-map.js";
import { CorruptReplicas } from "./corrupt-replicas.js";
import { PendingReplications } from "./pending-replications.js";
import { createPlacementPolicy, type PlacementNode, type PlacementPolicy, type PlacementPolicyName } from "./placement-policy.js";
import { ReplicaVerifications, type VerificationRequest } from "./replica-verifications.js";
import { ReplicationMonitor } from "./replication-monitor.js";
import { ReplicationQueue } from "./replication-queue.js";
import { ReplicationScan } from "./replication-scan.js";
import { Trash } from "./trash.js";

export type { ReportedChunk } from "./chunk-map.js";

/**
 * One chunk's replicas as every decision counts them: the replication
 * monitor, fsck, the decommission guard and the scan after safe mode.
 */
export interface ReplicaCount {
  chunk: ChunkRecord;
  /** The file's replication: the target. */
  replication: number;
  /** Live DataNodes holding a replica that matches the chunk's record. */
  live: string[];
  /** Of those, the nodes in normal service: the replicas that count. */
  inService: string[];
  /** Of those, the nodes being drained (decommissioning or decommissioned): sources, not replicas to keep. */
  draining: string[];
  /** DataNodes holding a replica found bad. */
  corrupt: string[];
}

export type ChunkHealth = "healthy" | "under_replicated" | "corrupt" | "missing";

/** A chunk to read: its record, the live replicas in the order a reader should try them, and how many are bad. */
export interface LocatedChunk {
  chunk: ChunkRecord;
  replicas: string[];
  corruptCount: number;
}

/** The work a heartbeat response carries to one DataNode. */
export interface HeartbeatWork {
  trash: string[];
  copies: PendingReplication[];
  verify: VerificationRequest[];
}

export interface ChunkManagerSettings {
  placementPolicy: PlacementPolicyName;
  maxReplicationStreams: number;
  replicationTimeoutMs: number;
  maxReplicationTasksPerHeartbeat: number;
  maxTrashPerHeartbeat: number;
  trashRedeliveryMs: number;
  /** Bytes per second and copies in flight the balancer may use. */
  balancer: BalancerLimits;
}

/**
 * Everything the NameNode knows and decides about chunks and their replicas
 * (HDFS's BlockManager): the chunk records of files and writes in progress,
 * the map of replicas, bad replicas, the replication queue and the copies in
 * flight, trash, verifications readers asked for, placement and the
 * balancer. Chunk reports, commits and bad-replica reports are processed
 * here, heartbeats take their work from here, and it is the only code that
 * writes the `chunks` table. Methods named as running "inside a write" must
 * be called inside `store.write`, so that the caller's namespace change and
 * what follows from it for the chunks are one transaction.
 */
export class ChunkManager {
  readonly placement: PlacementPolicy;
  readonly balancer: Balancer;
  readonly replication: ReplicationMonitor;
  /** Every chunk's count checked again: after safe mode, and when a zone comes back. */
  readonly scan: ReplicationScan;
  /** Zones live at the last round, and zone arrivals counted by then: a zone back means chunks placed without it may be misplaced now. */
  private zonesSeen = 0;
  private zoneArrivalsSeen = 0;
  // The parts below are the manager's own: read them in tests, change them only through its methods.
  readonly map: ChunkMap;
  readonly corrupt: CorruptReplicas;
  readonly queue: ReplicationQueue;
  readonly pending: PendingReplications;
  readonly trash: Trash;
  readonly verifications: ReplicaVerifications;

  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
    private readonly safeMode: SafeMode,
    private readonly leases: LeaseManager,
    private readonly settings: ChunkManagerSettings,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.placement = createPlacementPolicy(settings.placementPolicy);
    this.map = new ChunkMap(store, datanodes);
    this.trash = new Trash(store, settings.trashRedeliveryMs);
    this.corrupt = new CorruptReplicas(store, this.map, this.trash);
    this.queue = new ReplicationQueue(store);
    this.pending = new PendingReplications(store);
    this.verifications = new ReplicaVerifications(
      { maxPendingPerNode: 10_000, repeatAfterMs: 10 * 60_000, maxPerHeartbeat: 100 },
      (chunkId, datanodeId) => this.verificationOf(chunkId, datanodeId),
      now,
    );
    this.balancer = new Balancer(store, datanodes, this.map, this.pending, this.placement, settings.balancer, logger, now);
    this.replication = new ReplicationMonitor(
      store,
      datanodes,
      this.map,
      this.queue,
      this.pending,
      this.trash,
      this.corrupt,
      this.placement,
      this.balancer,
      (chunkId) => this.countReplicas(chunkId),
      { maxReplicationStreams: settings.maxReplicationStreams, replicationTimeoutMs: settings.replicationTimeoutMs, maxChunksPerRound: 10_000 },
      logger,
      now,
    );
    this.scan = new ReplicationScan(store, this.replication, logger);
  }

  // ---- Chunks of writes and files

  /** The chunk's record, or undefined. */
  get(chunkId: string): ChunkRecord | undefined {
    return this.store.chunks.get(chunkId);
  }

  exists(chunkId: string): boolean {
    return this.store.chunks.doesExist(chunkId);
  }

  /** Records chunks planned for a write in progress. Inside a write. */
  addPlanned(uploadId: string, chunks: ReadonlyArray<{ chunkId: string; index: number; offset: number; length: number }>): void {
    for (const c of chunks) this.store.chunks.put(c.chunkId, { chunkId: c.chunkId, uploadId, index: c.index, offset: c.offset, length: c.length });
  }

  /**
   * Records replicas vouched for by their DataNodes' receipts (the caller
   * checked the signatures against these digests). A node the NameNode no
   * longer knows proves nothing it could use. Inside a write.
   */
  recordReceipts(replicas: ReadonlyArray<{ datanodeId: string; chunk: ReportedChunk }>): void {
    const nowMs = this.now();
    for (const { datanodeId, chunk } of replicas) if (this.datanodes.isRegistered(datanodeId)) this.map.record(datanodeId, chunk, nowMs);
  }

  /** Replicas recorded with exactly this length and checksum. */
  matchingReplicas(digest: ReportedChunk): number {
    return this.map.replicas(digest.chunkId).filter(({ replica }) => replica.length === digest.length && replica.checksum === digest.checksum).length;
  }

  /** Whether some DataNode committed other bytes of the same length than `digest` (the writer's view is wrong). */
  committedOtherBytes(digest: ReportedChunk): boolean {
    return this.map.replicas(digest.chunkId).some(({ replica }) => replica.length === digest.length && replica.checksum !== digest.checksum);
  }

  /**
   * The write's chunks now belong to the file: their checksums are fixed and
   * the replication monitor looks at them. While they belonged to a write in
   * progress it did not queue them, yet a chunk may already have more copies
   * than the file's replication (a node of a failed chain that finished its
   * copy and reported it before the client confirmed on another chain), or
   * fewer live ones (a node of its chain declared dead since). Inside a write.
   */
  linkToFile(inodeId: number, digests: readonly ReportedChunk[]): void {
    for (const d of digests) {
      const { uploadId: _, ...chunk } = this.store.chunks.get(d.chunkId)!;
      this.store.chunks.put(d.chunkId, { ...chunk, inodeId, checksum: d.checksum });
    }
    for (const d of digests) this.replication.recheck(d.chunkId);
  }

  /**
   * Complete files' chunks now make up the file `inodeId`, in this order
   * (ConcatFiles): each record changes owner, index and offset, no byte
   * moves. Chunks may differ in length; offsets follow from the lengths.
   * The replication monitor looks at them again, as the new file's
   * replication may differ. Returns the file's size. Inside a write.
   */
  relink(inodeId: number, chunkIds: readonly string[]): number {
    let offset = 0;
    chunkIds.forEach((chunkId, index) => {
      const chunk = this.store.chunks.get(chunkId);
      if (!chunk || chunk.inodeId === undefined || chunk.checksum === undefined) {
        throw new TrainfsError("failed_precondition", `chunk ${chunkId} is not a chunk of a complete file`);
      }
      this.store.chunks.put(chunkId, { ...chunk, inodeId, index, offset });
      offset += chunk.length;
    });
    for (const chunkId of chunkIds) this.replication.recheck(chunkId);
    return offset;
  }

  /**
   * Forgets chunks (a file deleted or replaced, a write abandoned): every copy
   * known, good or bad, goes to trash, and nothing about them is left queued.
   * Returns how many chunks were forgotten. Inside a write.
   */
  remove(chunkIds: readonly string[]): number {
    const nowMs = this.now();
    for (const chunkId of chunkIds) {
      for (const holder of this.map.forgetReplicas(chunkId)) this.trash.add(holder, chunkId, nowMs);
      this.corrupt.dispose(chunkId, nowMs);
      this.queue.remove(chunkId);
      this.pending.remove(chunkId);
      this.store.chunks.remove(chunkId);
    }
    return chunkIds.length;
  }

  /** Copies for a chain that is being abandoned never became a chunk: whatever its nodes stored goes to trash. Inside a write. */
  trashOn(datanodeIds: readonly string[], chunkId: string): void {
    const nowMs = this.now();
    for (const id of datanodeIds) this.trash.add(id, chunkId, nowMs);
  }

  // ---- What DataNodes report

  /**
   * A DataNode's full chunk report: what is recorded for the node becomes
   * what it holds. Replicas that differ from their record are bad; chunks no
   * file or write owns go to trash (after safe mode, when the NameNode can
   * tell garbage from a chunk it has not heard of yet).
   */
  async processReport(datanodeId: string, reported: readonly ReportedChunk[]): Promise<{ accepted: number; unknown: number; mismatched: number }> {
    this.requireRegistered(datanodeId);
    const nowMs = this.now();
    return this.store.write(() => {
      this.safeMode.reportArrived(datanodeId, reported.map((c) => c.chunkId));
      const r = this.map.applyReport(datanodeId, [...reported], nowMs, this.datanodes.registeredAt(datanodeId));
      for (const chunkId of r.mismatchedChunkIds) this.corrupt.mark(chunkId, datanodeId, "its length or checksum differs from the record", nowMs);
      // Every chunk the node holds, not only the changed ones: a node back from
      // the dead (or known from before a NameNode restart) brings live copies
      // whose records never changed, and may push a chunk over its replication.
      for (const chunkId of new Set([...r.acceptedChunkIds, ...r.changed, ...r.mismatchedChunkIds])) this.replication.recheck(chunkId);
      if (this.safeMode.isOn) this.safeMode.defer(datanodeId, r.unknownChunkIds);
      else for (const chunkId of r.unknownChunkIds) this.trash.add(datanodeId, chunkId, nowMs);
      return { accepted: r.accepted, unknown: r.unknown, mismatched: r.mismatched };
    });
  }

  /**
   * A DataNode durably stored a chunk. Refused with not_found when no file or
   * write owns it (the DataNode then drops its copy), and with
   * failed_precondition when its bytes differ from the record.
   */
  async commit(datanodeId: string, reported: ReportedChunk): Promise<void> {
    this.requireRegistered(datanodeId);
    // Most reports arrive after the client's receipts recorded the same
    // replica at ConfirmFile: nothing to write, so no transaction.
    if (this.map.isRecorded(datanodeId, reported)) return;
    const nowMs = this.now();
    await this.store.write(() => {
      // A report that crossed the deletion of its copy (trimmed, or bad)
      // on the way must not bring the replica back.
      if (this.trash.has(datanodeId, reported.chunkId)) return;
      const chunk = this.safeMode.chunkCommitted(datanodeId, reported.chunkId, () => this.map.commit(datanodeId, reported, nowMs));
      if (chunk.uploadId) this.leases.touch(chunk.uploadId, nowMs);
      this.replication.onCommit(reported.chunkId, datanodeId);
    });
  }

  /**
   * Replicas a DataNode's own verification found bad (a read, its scrubber,
   * or a verification asked for): they stop counting at once, and a good copy
   * replaces them. Only the holder's word condemns a replica.
   */
  async markCorrupt(datanodeId: string, bad: ReadonlyArray<{ chunkId: string; reason: string }>): Promise<void> {
    this.requireRegistered(datanodeId);
    const nowMs = this.now();
    await this.store.write(() => {
      for (const { chunkId, reason } of bad) {
        // A chunk deleted meanwhile has nothing left to repair.
        if (!this.store.chunks.doesExist(chunkId)) continue;
        this.corrupt.mark(chunkId, datanodeId, reason.slice(0, 500) || "reported bad", nowMs);
        this.replication.recheck(chunkId);
      }
    });
  }

  /**
   * A reader suspects replicas: a hint, never a verdict. Each named replica
   * that exists is queued for its DataNode to verify; returns how many were.
   */
  suspect(replicas: ReadonlyArray<{ chunkId: string; datanodeId: string }>): number {
    return this.verifications.request(replicas);
  }

  // ---- Heartbeats and dead nodes

  /**
   * A DataNode's heartbeat: it confirms deletions and reports failed copies,
   * and takes its next deletions, copies and verifications (none in safe
   * mode, apart from verifications, which change nothing by themselves).
   */
  async heartbeat(datanodeId: string, deleted: readonly string[], failedCopies: readonly string[]): Promise<HeartbeatWork> {
    const nowMs = this.now();
    const work = await this.store.write(() => {
      this.trash.confirm(datanodeId, deleted);
      this.replication.onFailed(datanodeId, failedCopies);
      if (this.safeMode.isOn) return { trash: [], copies: [] };
      return {
        trash: this.trash.takeForHeartbeat(datanodeId, this.settings.maxTrashPerHeartbeat, nowMs),
        copies: this.pending.takeForSource(datanodeId, this.settings.maxReplicationTasksPerHeartbeat, nowMs),
      };
    });
    return { ...work, verify: this.verifications.takeFor(datanodeId) };
  }

  /**
   * A DataNode was declared dead: its replicas stop counting, every chunk
   * that lost one is queued, copies it took part in are planned again, and
   * what it owed is dropped (if it returns, its report brings both back).
   * Returns how many replicas it held.
   */
  async nodeDead(datanodeId: string): Promise<number> {
    this.verifications.dropNode(datanodeId);
    return this.store.write(() => {
      const chunkIds = this.map.dropNode(datanodeId);
      for (const chunkId of chunkIds) this.replication.recheck(chunkId);
      this.replication.onNodeDead(datanodeId);
      this.trash.dropNode(datanodeId);
      return chunkIds.length;
    });
  }

  /**
   * A DataNode counts again after a late heartbeat (it was never declared
   * dead, so it sends no report): every chunk it holds is checked again.
   */
  async nodeBack(datanodeId: string): Promise<void> {
    await this.store.write(() => this.recheck(this.map.chunksOn(datanodeId)));
  }

  // ---- Counting and locating

  /** The chunk's replicas as every decision counts them; undefined for chunks of writes in progress or gone. */
  countReplicas(chunkId: string): ReplicaCount | undefined {
    const chunk = this.store.chunks.get(chunkId);
    if (!chunk || chunk.inodeId === undefined) return undefined;
    const inode = this.store.inodes.get(chunk.inodeId);
    if (!inode) return undefined;
    const live = this.map.liveHolders(chunk);
    const inService = live.filter((id) => this.datanodes.adminState(id) === "normal");
    return {
      chunk,
      replication: inode.replication,
      live,
      inService,
      draining: live.filter((id) => !inService.includes(id)),
      corrupt: this.corrupt.holders(chunkId).map((h) => h.datanodeId),
    };
  }

  /** fsck's verdict on one chunk of a file of the given replication. */
  health(count: ReplicaCount | undefined): ChunkHealth {
    if (!count) return "missing";
    if (count.inService.length >= count.replication) return "healthy";
    if (count.live.length > 0) return "under_replicated";
    return count.corrupt.length > 0 ? "corrupt" : "missing";
  }

  /**
   * A chunk of a complete file with its live replicas, rotated by its id and
   * index: reads of many small files, and of a file's consecutive chunks,
   * spread over the replicas (held in node-id order, the first of which
   * would otherwise serve most reads).
   */
  locate(chunkId: string): LocatedChunk {
    const chunk = this.store.chunks.get(chunkId);
    if (!chunk) throw new TrainfsError("internal", `chunk ${chunkId} is missing from the chunk records`);
    const holders = this.map.liveHolders(chunk);
    const k = holders.length ? (idSpread(chunkId) + chunk.index) % holders.length : 0;
    return { chunk, replicas: [...holders.slice(k), ...holders.slice(0, k)], corruptCount: this.corrupt.holders(chunkId).length };
  }

  /** Chunk ids with a replica recorded on the DataNode. */
  chunksOn(datanodeId: string): string[] {
    return this.map.chunksOn(datanodeId);
  }

  /** Puts each chunk back in front of the replication monitor (a node's admin state changed, a file's replication changed). Inside a write. */
  recheck(chunkIds: Iterable<string>): void {
    for (const chunkId of chunkIds) this.replication.recheck(chunkId);
  }

  /** The live, in-service DataNodes a new chain can use, with their zones and room. */
  placementNodes(): PlacementNode[] {
    return this.datanodes.placementNodes();
  }

  /** Counters for status, fsck summaries and metrics. */
  counts() {
    const q = this.queue.counts();
    return {
      underReplicated: q.underReplicated,
      missing: q.missing,
      misplaced: q.misplaced,
      surplus: q.surplus,
      corruptReplicas: this.corrupt.count(),
      pendingReplications: this.pending.count(),
      pendingTrash: this.trash.count(),
      pendingVerifications: this.verifications.count(),
    };
  }

  /** Copies finished and given up since start, and the bytes the finished ones wrote (metrics). */
  replicationStats(): { copiesFinished: number; copiesFailed: number; bytesCopied: number } {
    return this.replication.stats;
  }

  /**
   * Why under-replicated chunks wait with no copy planned, in an operator's
   * words, from the last replication round; "" when nothing is stuck.
   */
  replicationBlocked(): string {
    const b = this.replication.blocked;
    if (!b) return "";
    const chunks = `${b.chunks} chunk${b.chunks === 1 ? "" : "s"}`;
    if (b.noRoom < b.chunks) {
      return `${chunks} cannot be copied: needs ${b.needed} live DataNodes in service, ${b.inService} ${b.inService === 1 ? "is" : "are"}`;
    }
    return `${chunks} cannot be copied: no live DataNode in service without a replica has room (or a free replication stream)`;
  }

  /** Whether the DataNode still owes the deletion of its copy of the chunk. */
  owesDeletion(datanodeId: string, chunkId: string): boolean {
    return this.trash.has(datanodeId, chunkId);
  }

  /** One round of replication and balancing; skipped by the caller while in safe mode. */
  async runRound(): Promise<void> {
    const zones = this.datanodes.liveZones().size;
    const arrivals = this.datanodes.zoneArrivals;
    const zoneBack = zones > this.zonesSeen || arrivals !== this.zoneArrivalsSeen;
    if (zones !== this.zonesSeen || zoneBack) this.replication.zonesChanged();
    if (zoneBack && zones > 1) this.scan.start();
    this.zonesSeen = zones;
    this.zoneArrivalsSeen = arrivals;
    await this.balancer.runOnce();
    await this.replication.runOnce();
  }

  /**
   * After safe mode: unknown chunks reported meanwhile go to trash if they
   * are still unknown.
   */
  async trashDeferred(deferred: Map<string, Set<string>>): Promise<void> {
    const nowMs = this.now();
    await this.store.write(() => {
      for (const [datanodeId, chunkIds] of deferred) {
        for (const chunkId of chunkIds) if (!this.store.chunks.doesExist(chunkId)) this.trash.add(datanodeId, chunkId, nowMs);
      }
    });
  }

  private requireRegistered(datanodeId: string): void {
    if (!this.datanodes.isRegistered(datanodeId)) {
      throw new TrainfsError("failed_precondition", `DataNode ${datanodeId} is not registered; register first`);
    }
  }

  /** What the holder of a complete chunk's replica is asked to check it against. */
  private verificationOf(chunkId: string, datanodeId: string): VerificationRequest | undefined {
    const chunk = this.store.chunks.get(chunkId);
    if (chunk?.checksum === undefined || !this.store.replicas.doesExist([chunkId, datanodeId])) return undefined;
    return { chunkId, length: chunk.length, checksum: chunk.checksum };
  }
}

/** A number taken from a chunk id's last hex digits (ids are random), the same at every call. */
function idSpread(chunkId: string): number {
  return Number.parseInt(chunkId.slice(-6), 16) || 0;
}
