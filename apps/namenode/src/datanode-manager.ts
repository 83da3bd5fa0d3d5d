import { TrainfsError } from "@trainfs/common";
import type { MetadataStore } from "./metadata-store.js";
import type { PlacementCandidate } from "./placement-policy.js";

interface DataNodeState {
  id: string;
  address: string;
  capacityBytes: number;
  freeBytes: number;
  lastHeartbeatMs: number;
}

export interface DataNodeView extends DataNodeState {
  live: boolean;
  promisedBytes: number;
}

/**
 * The DataNode table (persisted) and each node's liveness and space (in
 * memory, rebuilt from registrations and heartbeats). A node is live while
 * its last heartbeat is younger than the heartbeat timeout; a node the
 * NameNode has not heard from since it started is not live until it speaks.
 */
export class DataNodeManager {
  private readonly nodes = new Map<string, DataNodeState>();
  /** Bytes promised to writes in flight, by upload then DataNode. */
  private readonly promises = new Map<string, Map<string, number>>();

  constructor(
    private readonly store: MetadataStore,
    private readonly heartbeatTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async register(id: string, address: string, capacityBytes: number, freeBytes: number): Promise<void> {
    const nowMs = this.now();
    // A node that took over another's address (its data dir was wiped, say)
    // makes the old id dead at once: nothing can be reached there any more.
    for (const other of this.nodes.values()) {
      if (other.address === address && other.id !== id) this.nodes.delete(other.id);
    }
    await this.store.write(() => {
      this.store.datanodes.put(id, { id, address, capacityBytes, registeredMs: nowMs });
    });
    this.nodes.set(id, { id, address, capacityBytes, freeBytes, lastHeartbeatMs: nowMs });
  }

  /** Records a heartbeat; false when the node must register first. */
  heartbeat(id: string, capacityBytes: number, freeBytes: number): boolean {
    const node = this.nodes.get(id);
    if (!node) return false;
    node.capacityBytes = capacityBytes;
    node.freeBytes = freeBytes;
    node.lastHeartbeatMs = this.now();
    return true;
  }

  isRegistered(id: string): boolean {
    return this.nodes.has(id);
  }

  isLive(id: string): boolean {
    const node = this.nodes.get(id);
    return node !== undefined && this.now() - node.lastHeartbeatMs <= this.heartbeatTimeoutMs;
  }

  address(id: string): string {
    const node = this.nodes.get(id) ?? this.store.datanodes.get(id);
    if (!node) throw new TrainfsError("internal", `unknown DataNode ${id}`);
    return node.address;
  }

  liveNodes(): DataNodeState[] {
    return [...this.nodes.values()].filter((n) => this.isLive(n.id));
  }

  /** Every node the NameNode knows of, live or not, for operators and tests. */
  all(): DataNodeView[] {
    const views: DataNodeView[] = [];
    for (const record of this.store.datanodes.getRange()) {
      const state = this.nodes.get(record.key);
      views.push({
        id: record.key,
        address: state?.address ?? record.value.address,
        capacityBytes: state?.capacityBytes ?? record.value.capacityBytes,
        freeBytes: state?.freeBytes ?? 0,
        lastHeartbeatMs: state?.lastHeartbeatMs ?? 0,
        live: this.isLive(record.key),
        promisedBytes: this.promisedTo(record.key),
      });
    }
    return views;
  }

  placementCandidates(): PlacementCandidate[] {
    return this.liveNodes().map((n) => ({ id: n.id, available: n.freeBytes - this.promisedTo(n.id) }));
  }

  promise(uploadId: string, datanodeId: string, bytes: number): void {
    let byNode = this.promises.get(uploadId);
    if (!byNode) this.promises.set(uploadId, (byNode = new Map()));
    byNode.set(datanodeId, (byNode.get(datanodeId) ?? 0) + bytes);
  }

  releasePromises(uploadId: string): void {
    this.promises.delete(uploadId);
  }

  private promisedTo(datanodeId: string): number {
    let sum = 0;
    for (const byNode of this.promises.values()) sum += byNode.get(datanodeId) ?? 0;
    return sum;
  }
}
