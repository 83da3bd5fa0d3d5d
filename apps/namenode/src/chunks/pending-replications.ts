import type { MetadataStore, PendingReplication } from "../metadata-store.js";

/**
 * Copies handed out and not yet finished (HDFS's PendingReconstructionBlocks),
 * persisted so that a restarted NameNode neither forgets nor repeats them.
 * A copy is finished when its targets commit the chunk, and given up (to be
 * planned again) when its source reports failure or it times out. Mutating
 * methods run inside `store.write`.
 */
export class PendingReplications {
  constructor(private readonly store: MetadataStore) {}

  add(task: PendingReplication): void {
    this.store.pendingReplications.put(task.chunkId, task);
    this.store.pendingBySource.put([task.sourceId, task.chunkId], true);
  }

  get(chunkId: string): PendingReplication | undefined {
    return this.store.pendingReplications.get(chunkId);
  }

  remove(chunkId: string): PendingReplication | undefined {
    const task = this.store.pendingReplications.get(chunkId);
    if (!task) return undefined;
    this.store.pendingReplications.remove(chunkId);
    this.store.pendingBySource.remove([task.sourceId, chunkId]);
    return task;
  }

  /** Tasks for the source not yet sent to it, up to `limit`, marked as sent. */
  takeForSource(sourceId: string, limit: number, nowMs: number): PendingReplication[] {
    const out: PendingReplication[] = [];
    for (const key of this.store.pendingBySource.getKeys({ start: [sourceId], end: [sourceId, "\uffff"] })) {
      if (out.length >= limit) break;
      const task = this.store.pendingReplications.get(key[1]);
      if (task && task.deliveredMs === undefined) out.push(task);
    }
    for (const task of out) this.store.pendingReplications.put(task.chunkId, { ...task, deliveredMs: nowMs });
    return out;
  }

  /** Tasks issued longer ago than `timeoutMs`. */
  expired(nowMs: number, timeoutMs: number): PendingReplication[] {
    return this.all().filter((t) => nowMs - t.issuedMs > timeoutMs);
  }

  all(): PendingReplication[] {
    return [...this.store.pendingReplications.getRange()].map((e) => e.value);
  }

  /** Copies each DataNode takes part in, as source or target. */
  streamsByNode(): Map<string, number> {
    const streams = new Map<string, number>();
    for (const t of this.all()) {
      for (const id of [t.sourceId, ...t.targetIds]) streams.set(id, (streams.get(id) ?? 0) + 1);
    }
    return streams;
  }

  count(): number {
    return this.store.pendingReplications.getCount();
  }
}
