/** Requests remembered for deduplication at most, over all nodes: past it, new suspicions wait. */
const MAX_REMEMBERED = 200_000;

/** A replica a DataNode is asked to verify, with what it must match. */
export interface VerificationRequest {
  chunkId: string;
  length: number;
  checksum: number;
}

export interface VerificationSettings {
  /** Requests waiting per DataNode at most; more are dropped (the reader will suspect again). */
  maxPendingPerNode: number;
  /** The same replica is asked for again no sooner than this. */
  repeatAfterMs: number;
  /** Requests handed to a DataNode per heartbeat at most. */
  maxPerHeartbeat: number;
}

/**
 * Replicas that readers suspect, waiting to be verified by the DataNodes
 * that hold them (HDFS treats a client's reportBadBlocks as a verdict; here
 * it is only a hint, since any client token could otherwise condemn good
 * replicas). Each request reaches its DataNode in a heartbeat response; the
 * DataNode reads the replica through, and only its own finding condemns it
 * (ReportCorruptChunks). Kept in memory: after a NameNode restart a reader
 * that still sees bad bytes suspects them again. Bounded per node, and the
 * same replica is asked for at most once per `repeatAfterMs`, so a flood of
 * false reports costs a few reads and changes nothing.
 */
export class ReplicaVerifications {
  private readonly pending = new Map<string, Map<string, VerificationRequest>>();
  /** `${datanodeId}/${chunkId}` → when last requested. */
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly settings: VerificationSettings,
    /** What a held replica must match; undefined when the node holds no replica of a complete chunk. */
    private readonly expected: (chunkId: string, datanodeId: string) => VerificationRequest | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** A reader's suspicions: each replica that exists is queued for its DataNode; returns how many were. */
  request(suspects: ReadonlyArray<{ chunkId: string; datanodeId: string }>): number {
    let queued = 0;
    for (const { chunkId, datanodeId } of suspects) {
      const request = this.expected(chunkId, datanodeId);
      if (request && this.add(datanodeId, request)) queued++;
    }
    return queued;
  }

  /** Queues the request for the DataNode; false when it was asked recently or its queue is full. */
  add(datanodeId: string, request: VerificationRequest): boolean {
    const nowMs = this.now();
    const key = `${datanodeId}/${request.chunkId}`;
    const last = this.recent.get(key);
    if (last !== undefined && nowMs - last < this.settings.repeatAfterMs) return false;
    let queue = this.pending.get(datanodeId);
    if (!queue) this.pending.set(datanodeId, (queue = new Map()));
    if (queue.size >= this.settings.maxPendingPerNode || this.recent.size >= MAX_REMEMBERED) return false;
    queue.set(request.chunkId, request);
    // Re-inserted so that the map stays in time order for forgetOld.
    this.recent.delete(key);
    this.recent.set(key, nowMs);
    this.forgetOld(nowMs);
    return true;
  }

  /** Requests for the DataNode's heartbeat response, taken off the queue. */
  takeFor(datanodeId: string): VerificationRequest[] {
    const queue = this.pending.get(datanodeId);
    if (!queue) return [];
    const out: VerificationRequest[] = [];
    for (const [chunkId, request] of queue) {
      if (out.length >= this.settings.maxPerHeartbeat) break;
      out.push(request);
      queue.delete(chunkId);
    }
    if (queue.size === 0) this.pending.delete(datanodeId);
    return out;
  }

  /** The node died or left: what it was asked is moot. */
  dropNode(datanodeId: string): void {
    this.pending.delete(datanodeId);
  }

  count(): number {
    let n = 0;
    for (const queue of this.pending.values()) n += queue.size;
    return n;
  }

  /** Entries older than the repeat delay say nothing any more; the map is in time order, so the old ones lead. */
  private forgetOld(nowMs: number): void {
    for (const [key, at] of this.recent) {
      if (nowMs - at < this.settings.repeatAfterMs) return;
      this.recent.delete(key);
    }
  }
}
