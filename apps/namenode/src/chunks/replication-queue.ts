import type { MetadataStore } from "../metadata-store.js";

/** Queue priorities: missing chunks, then fewest live replicas first, then misplaced, then surplus. */
export const MISSING = 0;
/** Enough replicas, but placed against the policy (all in one zone while several are alive). */
export const MISPLACED = 900_000;
const SURPLUS_BASE = 1_000_000;

export function underReplicatedPriority(liveReplicas: number): number {
  return liveReplicas;
}

export function surplusPriority(liveReplicas: number): number {
  return SURPLUS_BASE + liveReplicas;
}

/**
 * Chunks whose replica count is wrong, persisted and ordered by how few live
 * replicas remain (HDFS's LowRedundancyBlocks): a chunk with one copy left is
 * handled before one with two. Chunks with a surplus come last. Mutating
 * methods run inside `store.write`.
 */
export class ReplicationQueue {
  constructor(private readonly store: MetadataStore) {}

  put(chunkId: string, priority: number): void {
    const current = this.store.replicationQueueIndex.get(chunkId);
    if (current === priority) return;
    if (current !== undefined) this.store.replicationQueue.remove([current, chunkId]);
    this.store.replicationQueue.put([priority, chunkId], true);
    this.store.replicationQueueIndex.put(chunkId, priority);
  }

  remove(chunkId: string): void {
    const current = this.store.replicationQueueIndex.get(chunkId);
    if (current === undefined) return;
    this.store.replicationQueue.remove([current, chunkId]);
    this.store.replicationQueueIndex.remove(chunkId);
  }

  /** Up to `limit` queued chunk ids, most urgent first. */
  ordered(limit: number): string[] {
    return [...this.store.replicationQueue.getKeys({ limit })].map((k) => k[1]);
  }

  counts(): { missing: number; underReplicated: number; misplaced: number; surplus: number } {
    const q = this.store.replicationQueue;
    return {
      missing: q.getKeysCount({ start: [MISSING], end: [MISSING + 1] }),
      underReplicated: q.getKeysCount({ start: [MISSING + 1], end: [MISPLACED] }),
      misplaced: q.getKeysCount({ start: [MISPLACED], end: [MISPLACED + 1] }),
      surplus: q.getKeysCount({ start: [SURPLUS_BASE] }),
    };
  }
}
