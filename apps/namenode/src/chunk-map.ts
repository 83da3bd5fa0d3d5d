import { TrainfsError, formatChecksum } from "@trainfs/common";
import type { ChunkRecord, MetadataStore, ReplicaRecord } from "./metadata-store.js";
import type { DataNodeManager } from "./datanode-manager.js";

export interface ReportedChunk {
  chunkId: string;
  length: number;
  checksum: number;
}

export interface ReportResult {
  accepted: number;
  unknown: number;
  mismatched: number;
}

/**
 * The map of chunks to the DataNodes holding them (HDFS's BlocksMap), kept in
 * both directions so that a chunk's replicas and a node's chunks are each one
 * range read. Mutating methods run their own transaction.
 */
export class ChunkMap {
  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
  ) {}

  /** Records that `datanodeId` durably holds the chunk. Idempotent. */
  async commit(datanodeId: string, reported: ReportedChunk, nowMs: number): Promise<void> {
    await this.store.write(() => {
      const chunk = this.store.chunks.get(reported.chunkId);
      if (!chunk) {
        throw new TrainfsError("not_found", `chunk ${reported.chunkId} belongs to no file or write in progress`);
      }
      const why = mismatch(chunk, reported);
      if (why) throw new TrainfsError("failed_precondition", `replica of chunk ${reported.chunkId} on ${datanodeId} ${why}`);
      this.putReplica(reported.chunkId, datanodeId, { length: reported.length, checksum: reported.checksum, committedMs: nowMs });
      if (chunk.uploadId) {
        const upload = this.store.uploads.get(chunk.uploadId);
        if (upload) this.store.uploads.put(upload.uploadId, { ...upload, lastActiveMs: nowMs });
      }
    });
  }

  /**
   * Replaces everything recorded for a DataNode with what it reports holding.
   * Chunks no file or upload owns, and replicas that differ from the record,
   * are counted and not recorded.
   */
  async applyReport(datanodeId: string, reported: ReportedChunk[], nowMs: number): Promise<ReportResult> {
    return this.store.write(() => {
      const result: ReportResult = { accepted: 0, unknown: 0, mismatched: 0 };
      const kept = new Set<string>();
      for (const r of reported) {
        const chunk = this.store.chunks.get(r.chunkId);
        if (!chunk) {
          result.unknown++;
        } else if (mismatch(chunk, r)) {
          result.mismatched++;
        } else {
          result.accepted++;
          kept.add(r.chunkId);
          const existing = this.store.replicas.get([r.chunkId, datanodeId]);
          if (!existing || existing.checksum !== r.checksum || existing.length !== r.length) {
            this.putReplica(r.chunkId, datanodeId, { length: r.length, checksum: r.checksum, committedMs: nowMs });
          }
        }
      }
      for (const { key } of this.store.replicasByNode.getRange({ start: [datanodeId], end: [datanodeId, "\uffff"] })) {
        const chunkId = key[1];
        if (!kept.has(chunkId)) this.removeReplica(chunkId, datanodeId);
      }
      return result;
    });
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

  /** Deletes a chunk and its replica records; call inside `store.write`. */
  forgetChunk(chunkId: string): void {
    for (const { datanodeId } of this.replicas(chunkId)) this.removeReplica(chunkId, datanodeId);
    this.store.chunks.remove(chunkId);
  }

  private putReplica(chunkId: string, datanodeId: string, replica: ReplicaRecord): void {
    this.store.replicas.put([chunkId, datanodeId], replica);
    this.store.replicasByNode.put([datanodeId, chunkId], true);
  }

  private removeReplica(chunkId: string, datanodeId: string): void {
    this.store.replicas.remove([chunkId, datanodeId]);
    this.store.replicasByNode.remove([datanodeId, chunkId]);
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
