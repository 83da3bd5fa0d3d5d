import type { ChunkMap } from "./chunk-map.js";
import type { MetadataStore } from "../metadata-store.js";
import type { Trash } from "./trash.js";

/**
 * Replicas found bad (HDFS's CorruptReplicasMap). A bad replica stops counting
 * and is no longer offered at once, which queues its chunk for a fresh copy
 * from a good replica. It goes to trash as soon as one good replica exists (the
 * replication monitor decides); while none does, it stays, so its bytes are
 * still on disk for whoever must recover them. Methods run inside `store.write`.
 */
export class CorruptReplicas {
  constructor(
    private readonly store: MetadataStore,
    private readonly chunkMap: ChunkMap,
    private readonly trash: Trash,
  ) {}

  mark(chunkId: string, datanodeId: string, reason: string, nowMs: number): void {
    this.chunkMap.removeReplica(chunkId, datanodeId);
    this.store.corruptReplicas.put([chunkId, datanodeId], { reason, reportedMs: nowMs });
  }

  /** Nodes holding a bad replica of the chunk. */
  holders(chunkId: string): Array<{ datanodeId: string; reason: string }> {
    return [...this.store.corruptReplicas.getRange({ start: [chunkId], end: [chunkId, "\uffff"] })].map(({ key, value }) => ({
      datanodeId: key[1],
      reason: value.reason,
    }));
  }

  /** A node committed a good copy of the chunk: its bad one is replaced. */
  replaced(chunkId: string, datanodeId: string): void {
    this.store.corruptReplicas.remove([chunkId, datanodeId]);
  }

  /** Sends the chunk's bad replicas to trash. */
  dispose(chunkId: string, nowMs: number): void {
    for (const { datanodeId } of this.holders(chunkId)) {
      this.trash.add(datanodeId, chunkId, nowMs);
      this.store.corruptReplicas.remove([chunkId, datanodeId]);
    }
  }


  count(): number {
    return this.store.corruptReplicas.getCount();
  }
}
