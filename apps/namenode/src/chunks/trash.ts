import type { MetadataStore } from "../metadata-store.js";

/**
 * Chunks that DataNodes must delete, persisted per node (the founding flows'
 * "Record Trash Task", docs/founding-flows.md). A deletion leaves the store
 * only when the node confirms it; one sent but not confirmed within the
 * redelivery delay is sent again (deleting twice is harmless). Methods run
 * inside `store.write`, except the read-only ones.
 */
export class Trash {
  constructor(
    private readonly store: MetadataStore,
    private readonly redeliveryMs: number,
  ) {}

  add(datanodeId: string, chunkId: string, nowMs: number): void {
    if (!this.store.trash.doesExist([datanodeId, chunkId])) this.store.trash.put([datanodeId, chunkId], { createdMs: nowMs });
  }

  /** Up to `limit` chunk ids for the node's heartbeat response, marked as sent. */
  takeForHeartbeat(datanodeId: string, limit: number, nowMs: number): string[] {
    const due: string[] = [];
    for (const { key, value } of this.store.trash.getRange({ start: [datanodeId], end: [datanodeId, "\uffff"] })) {
      if (due.length >= limit) break;
      if (value.deliveredMs === undefined || nowMs - value.deliveredMs >= this.redeliveryMs) due.push(key[1]);
    }
    for (const chunkId of due) {
      const record = this.store.trash.get([datanodeId, chunkId])!;
      this.store.trash.put([datanodeId, chunkId], { ...record, deliveredMs: nowMs });
    }
    return due;
  }

  confirm(datanodeId: string, chunkIds: readonly string[]): void {
    for (const chunkId of chunkIds) this.store.trash.remove([datanodeId, chunkId]);
  }

  /**
   * Forgets what a dead node owes: if it ever returns, its chunk report names
   * those chunks as unknown and they come back to trash then.
   */
  dropNode(datanodeId: string): number {
    const keys = [...this.store.trash.getKeys({ start: [datanodeId], end: [datanodeId, "\uffff"] })];
    for (const key of keys) this.store.trash.remove(key);
    return keys.length;
  }

  has(datanodeId: string, chunkId: string): boolean {
    return this.store.trash.doesExist([datanodeId, chunkId]);
  }

  count(): number {
    return this.store.trash.getCount();
  }
}
