import { TrainfsError, formatChecksum } from "@trainfs/common";
import type { ChunkRecord, MetadataStore, ReplicaRecord } from "../metadata-store.js";
import type { DataNodeManager } from "../datanode-manager.js";

export interface ReportedChunk {
  chunkId: string;
  length: number;
  checksum: number;
}

export interface ReportResult {
  accepted: number;
  unknown: number;
  mismatched: number;
  /** Chunks that gained or lost a replica on this node. */
  changed: string[];
  /** Every reported chunk recorded as a replica on this node. */
  acceptedChunkIds: string[];
  /** Reported replicas whose length or checksum differ from the record: bad copies. */
  mismatchedChunkIds: string[];
  /** Chunks no file or upload owns: candidates for trash. */
  unknownChunkIds: string[];
}

/**
 * The map of chunks to the DataNodes holding them (HDFS's BlocksMap), kept in
 * both directions so that a chunk's replicas and a node's chunks are each one
 * range read. Part of the chunk manager, which alone calls its mutating
 * methods, inside `store.write`.
 */
export class ChunkMap {
  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
  ) {}

  /** Records that `datanodeId` durably holds the chunk. Idempotent. */
  commit(datanodeId: string, reported: ReportedChunk, nowMs: number): ChunkRecord {
    const chunk = this.store.chunks.get(reported.chunkId);
    if (!chunk) {
      throw new TrainfsError("not_found", `chunk ${reported.chunkId} belongs to no file or write in progress`);
    }
    const why = mismatch(chunk, reported);
    if (why) throw new TrainfsError("failed_precondition", `replica of chunk ${reported.chunkId} on ${datanodeId} ${why}`);
    this.putReplica(reported.chunkId, datanodeId, { length: reported.length, checksum: reported.checksum, committedMs: nowMs });
    return chunk;
  }

  /** Whether exactly this replica (same length and checksum) is already recorded on the DataNode. */
  isRecorded(datanodeId: string, reported: ReportedChunk): boolean {
    const existing = this.store.replicas.get([reported.chunkId, datanodeId]);
    return existing !== undefined && existing.length === reported.length && existing.checksum === reported.checksum;
  }

  /** Records a replica the caller already checked against the chunk's record (ConfirmFile's receipts). */
  record(datanodeId: string, checked: ReportedChunk, nowMs: number): void {
    this.putReplica(checked.chunkId, datanodeId, { length: checked.length, checksum: checked.checksum, committedMs: nowMs });
  }

  /**
   * Replaces what is recorded for a DataNode with what it reports holding.
   * Replicas committed after `listedSinceMs` are kept even if unreported: the
   * node listed its disk before they were written. Unknown chunks and
   * replicas that differ from the record are not recorded.
   */
  applyReport(datanodeId: string, reported: ReportedChunk[], nowMs: number, listedSinceMs: number): ReportResult {
    const result: ReportResult = { accepted: 0, unknown: 0, mismatched: 0, changed: [], acceptedChunkIds: [], unknownChunkIds: [], mismatchedChunkIds: [] };
    const kept = new Set<string>();
    for (const r of reported) {
      const chunk = this.store.chunks.get(r.chunkId);
      if (!chunk) {
        result.unknown++;
        result.unknownChunkIds.push(r.chunkId);
      } else if (mismatch(chunk, r)) {
        result.mismatched++;
        result.mismatchedChunkIds.push(r.chunkId);
      } else {
        result.accepted++;
        result.acceptedChunkIds.push(r.chunkId);
        kept.add(r.chunkId);
        const existing = this.store.replicas.get([r.chunkId, datanodeId]);
        if (!existing || existing.checksum !== r.checksum || existing.length !== r.length) {
          this.putReplica(r.chunkId, datanodeId, { length: r.length, checksum: r.checksum, committedMs: nowMs });
          result.changed.push(r.chunkId);
        }
      }
    }
    for (const chunkId of this.chunksOn(datanodeId)) {
      if (kept.has(chunkId)) continue;
      const replica = this.store.replicas.get([chunkId, datanodeId]);
      if (replica && replica.committedMs >= listedSinceMs) continue;
      this.removeReplica(chunkId, datanodeId);
      result.changed.push(chunkId);
    }
    return result;
  }

  /** Forgets every replica on a DataNode (it died); returns the chunks that lost one. */
  dropNode(datanodeId: string): string[] {
    const chunkIds = this.chunksOn(datanodeId);
    for (const chunkId of chunkIds) this.removeReplica(chunkId, datanodeId);
    return chunkIds;
  }

  /** Chunk ids with a replica recorded on the DataNode. */
  chunksOn(datanodeId: string): string[] {
    return [...this.store.replicasByNode.getKeys({ start: [datanodeId], end: [datanodeId, "\uffff"] })].map((k) => k[1]);
  }

  /** Every recorded replica of a chunk, live or not. */
  replicas(chunkId: string): Array<{ datanodeId: string; replica: ReplicaRecord }> {
    return [...this.store.replicas.getRange({ start: [chunkId], end: [chunkId, "\uffff"] })].map(({ key, value }) => ({
      datanodeId: key[1],
      replica: value,
    }));
  }

  /** DataNodes that hold a replica matching the chunk's record and are live now. */
  liveHolders(chunk: ChunkRecord): string[] {
    return this.replicas(chunk.chunkId)
      .filter(({ datanodeId, replica }) => !mismatch(chunk, { chunkId: chunk.chunkId, ...replica }) && this.datanodes.isLive(datanodeId))
      .map(({ datanodeId }) => datanodeId);
  }

  /** Deletes a chunk's replica records; returns the DataNodes that held them. */
  forgetReplicas(chunkId: string): string[] {
    const holders = this.replicas(chunkId).map((r) => r.datanodeId);
    for (const datanodeId of holders) this.removeReplica(chunkId, datanodeId);
    return holders;
  }

  removeReplica(chunkId: string, datanodeId: string): void {
    this.store.replicas.remove([chunkId, datanodeId]);
    this.store.replicasByNode.remove([datanodeId, chunkId]);
  }

  private putReplica(chunkId: string, datanodeId: string, replica: ReplicaRecord): void {
    this.store.replicas.put([chunkId, datanodeId], replica);
    this.store.replicasByNode.put([datanodeId, chunkId], true);
  }
}

/** Why a replica cannot be the chunk on record, or undefined if it can. */
function mismatch(chunk: ChunkRecord, replica: ReportedChunk): string | undefined {
  if (replica.length !== chunk.length) return `has ${replica.length} bytes, expected ${chunk.length}`;
  if (chunk.checksum !== undefined && replica.checksum !== chunk.checksum) {
    return `has checksum ${formatChecksum(replica.checksum)}, expected ${formatChecksum(chunk.checksum)}`;
  }
  return undefined;
}
