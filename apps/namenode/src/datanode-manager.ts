import { TrainfsError } from "@trainfs/common";
import type { AdminState, MetadataStore } from "./metadata-store.js";
import type { PlacementNode } from "./chunks/placement-policy.js";

interface DataNodeState {
  id: string;
  address: string;
  /** The failure domain it reported at registration; "" for none. */
  zone: string;
  capacityBytes: number;
  freeBytes: number;
  usedBytes: number;
  chunkCount: number;
  /** The filesystem of its data directory (st_dev), "" if not reported: see clusterSpace. */
  diskId: string;
  /** Chunk bytes it read and wrote since it started (its last heartbeat's figures). */
  bytesReadTotal: number;
  bytesWrittenTotal: number;
  /** Packed chunks: bytes of deleted records not yet compacted away, and bytes compaction gave back since the node started. */
  volumeDeadBytes: number;
  compactionReclaimedBytesTotal: number;
  /** 0 when not heard from since the NameNode started. */
  lastHeartbeatMs: number;
  /** When it last registered: its chunk report lists its disk from about then. */
  registeredMs: number;
  /** Declared dead by the heartbeat monitor; it must register again. */
  dead: boolean;
}

/** What operators see of a node: its last report, whether it is live, its admin state. */
export interface DataNodeView extends Omit<DataNodeState, "registeredMs" | "dead"> {
  live: boolean;
  adminState: AdminState;
}

/**
 * The DataNode table (persisted, with each node's admin state) and each
 * node's liveness and space (in memory, rebuilt from registrations and
 * heartbeats). A node is live while its last heartbeat is younger than the
 * heartbeat timeout and the heartbeat monitor has not declared it dead; a
 * node the NameNode has not heard from since it started is not live.
 */
export class DataNodeManager {
  private readonly nodes = new Map<string, DataNodeState>();
  /** Bytes promised to writes in flight, by upload then DataNode. */
  private readonly promises = new Map<string, Map<string, number>>();

  private readonly startedMs: number;
  /**
   * Times a zone with no live node in service gained one. A zone may be lost
   * and back between two background rounds; counting arrivals as they happen
   * lets the chunk manager look again at chunks placed while it was away.
   */
  zoneArrivals = 0;

  constructor(
    private readonly store: MetadataStore,
    readonly heartbeatTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.startedMs = now();
  }

  /** DataNodes whose full chunk report this NameNode has not processed since it became active (HA). */
  private readonly reportsWanted = new Set<string>();

  /**
   * Elected (HA): a standby took no chunk reports, so every DataNode is asked
   * (by `reregister` in its next heartbeat answer) to register again and send
   * its full report: replicas the log never heard of (a write cut off by the
   * failover) are found and trashed. The nodes stay live meanwhile.
   */
  requestFullReports(): void {
    for (const id of this.nodes.keys()) this.reportsWanted.add(id);
  }

  /** Whether the node's next heartbeat answer must ask it to register and report again; asks once. */
  takeReportRequest(id: string): boolean {
    return this.reportsWanted.delete(id);
  }

  /** `persist` false (an HA standby): liveness only; the active NameNode's log brings the record. */
  async register(id: string, address: string, capacityBytes: number, freeBytes: number, zone = "", diskId = "", persist = true): Promise<void> {
    const nowMs = this.now();
    // A node that took over another's address (its data dir was wiped, say)
    // makes the old id dead at once: nothing can be reached there any more.
    for (const other of this.nodes.values()) {
      if (other.address === address && other.id !== id) other.dead = true;
    }
    if (persist) await this.store.write(() => {
      const previous = this.store.datanodes.get(id);
      this.store.datanodes.put(id, { ...previous, id, address, capacityBytes, registeredMs: nowMs, zone });
    });
    this.noteArrival(id, zone);
    this.nodes.set(id, {
      id, address, zone, capacityBytes, freeBytes, usedBytes: 0, chunkCount: 0, lastHeartbeatMs: nowMs, registeredMs: nowMs, dead: false,
      diskId, bytesReadTotal: 0, bytesWrittenTotal: 0, volumeDeadBytes: 0, compactionReclaimedBytesTotal: 0,
    });
  }

  /** Records a heartbeat; false when the node must register (again) first. */
  heartbeat(
    id: string,
    space: {
      capacityBytes: number; freeBytes: number; usedBytes: number; chunkCount: number; diskId?: string; bytesReadTotal?: number; bytesWrittenTotal?: number;
      volumeDeadBytes?: number; compactionReclaimedBytesTotal?: number;
    },
  ): boolean {
    const node = this.nodes.get(id);
    if (!node || node.dead) return false;
    // Silent past the timeout but not yet declared dead: it is back now.
    if (!this.isLive(id)) this.noteArrival(id, node.zone);
    Object.assign(node, space, { lastHeartbeatMs: this.now() });
    return true;
  }

  /** Before node `id` becomes live: counts an arrival if its zone has no live node in service. */
  private noteArrival(id: string, zone: string): void {
    if (this.adminState(id) === "normal" && !this.liveZones().has(zone)) this.zoneArrivals++;
  }

  /**
   * Nodes whose last heartbeat is older than the timeout and not yet declared
   * dead, including known nodes that have not spoken at all since the NameNode
   * started a timeout ago.
   */
  overdue(): string[] {
    const nowMs = this.now();
    const late = [...this.nodes.values()].filter((n) => !n.dead && nowMs - n.lastHeartbeatMs > this.heartbeatTimeoutMs).map((n) => n.id);
    if (nowMs - this.startedMs > this.heartbeatTimeoutMs) {
      for (const id of this.store.datanodes.getKeys()) if (!this.nodes.has(id)) late.push(id);
    }
    return late;
  }

  markDead(id: string): void {
    const node = this.nodes.get(id);
    if (node) {
      node.dead = true;
      return;
    }
    const record = this.store.datanodes.get(id);
    if (!record) return;
    this.nodes.set(id, {
      id, address: record.address, zone: record.zone ?? "", capacityBytes: record.capacityBytes, freeBytes: 0, usedBytes: 0, chunkCount: 0,
      lastHeartbeatMs: 0, registeredMs: 0, dead: true, diskId: "", bytesReadTotal: 0, bytesWrittenTotal: 0, volumeDeadBytes: 0, compactionReclaimedBytesTotal: 0,
    });
  }

  isRegistered(id: string): boolean {
    const node = this.nodes.get(id);
    return node !== undefined && !node.dead;
  }

  isLive(id: string): boolean {
    const node = this.nodes.get(id);
    return node !== undefined && !node.dead && this.now() - node.lastHeartbeatMs <= this.heartbeatTimeoutMs;
  }

  registeredAt(id: string): number {
    return this.nodes.get(id)?.registeredMs ?? 0;
  }

  adminState(id: string): AdminState {
    return this.store.datanodes.get(id)?.adminState ?? "normal";
  }

  /** Persists an admin state; call inside `store.write`. */
  setAdminState(id: string, adminState: AdminState): void {
    const record = this.store.datanodes.get(id);
    if (!record) throw new TrainfsError("not_found", `no DataNode ${id}`);
    this.store.datanodes.put(id, { ...record, adminState });
  }

  address(id: string): string {
    const node = this.nodes.get(id) ?? this.store.datanodes.get(id);
    if (!node) throw new TrainfsError("internal", `unknown DataNode ${id}`);
    return node.address;
  }

  freeBytes(id: string): number {
    return (this.nodes.get(id)?.freeBytes ?? 0) - this.promisedTo(id);
  }

  /** The DataNode with this id or address. */
  find(idOrAddress: string): DataNodeView {
    const view = this.all().find((n) => n.id === idOrAddress || n.address === idOrAddress || n.address === `http://${idOrAddress}`);
    if (!view) throw new TrainfsError("not_found", `no DataNode with id or address ${JSON.stringify(idOrAddress)}`);
    return view;
  }

  liveNodes(): DataNodeView[] {
    return this.all().filter((n) => n.live);
  }

  /** Every node the NameNode knows of, live or not, for operators and tests. */
  all(): DataNodeView[] {
    const views: DataNodeView[] = [];
    for (const { key, value } of this.store.datanodes.getRange()) {
      const state = this.nodes.get(key);
      views.push({
        id: key,
        address: state?.address ?? value.address,
        zone: state?.zone ?? value.zone ?? "",
        live: this.isLive(key),
        adminState: value.adminState ?? "normal",
        capacityBytes: state?.capacityBytes ?? value.capacityBytes,
        freeBytes: state?.freeBytes ?? 0,
        usedBytes: state?.usedBytes ?? 0,
        chunkCount: state?.chunkCount ?? 0,
        lastHeartbeatMs: state?.lastHeartbeatMs ?? 0,
        diskId: state?.diskId ?? "",
        bytesReadTotal: state?.bytesReadTotal ?? 0,
        bytesWrittenTotal: state?.bytesWrittenTotal ?? 0,
        volumeDeadBytes: state?.volumeDeadBytes ?? 0,
        compactionReclaimedBytesTotal: state?.compactionReclaimedBytesTotal ?? 0,
      });
    }
    return views;
  }

  /** Live nodes in normal service (not draining), with their zones and space less promises: where new replicas may go. */
  placementNodes(): PlacementNode[] {
    return this.liveNodes()
      .filter((n) => n.adminState === "normal")
      .map((n) => this.toPlacementNode(n));
  }

  /** One node as the placement policy sees it, live or not. */
  placementNode(id: string): PlacementNode {
    const n = this.nodes.get(id);
    const record = n ? undefined : this.store.datanodes.get(id);
    return {
      id,
      zone: n?.zone ?? record?.zone ?? "",
      available: (n?.freeBytes ?? 0) - this.promisedTo(id),
      capacityBytes: n?.capacityBytes ?? record?.capacityBytes ?? 0,
      usedBytes: n?.usedBytes ?? 0,
    };
  }

  /** Zones with a live node in normal service: what placement is judged against. */
  liveZones(): Set<string> {
    return new Set(this.placementNodes().map((n) => n.zone));
  }

  private toPlacementNode(n: DataNodeView): PlacementNode {
    return { id: n.id, zone: n.zone, available: n.freeBytes - this.promisedTo(n.id), capacityBytes: n.capacityBytes, usedBytes: n.usedBytes };
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

export interface ClusterSpace {
  capacityBytes: number;
  dfsUsedBytes: number;
  nonDfsUsedBytes: number;
  freeBytes: number;
}

/**
 * The live nodes' space with each disk counted once: nodes of one host that
 * report the same disk id share a disk, whose capacity and free space each
 * of them reports whole. (A node capped by its `capacity` setting reports no
 * disk id: its cap is its own share, counted on its own.) DFS used is every
 * node's chunk bytes; non-DFS used is what else fills those disks.
 */
export function clusterSpace(nodes: readonly Pick<DataNodeView, "id" | "address" | "live" | "diskId" | "capacityBytes" | "freeBytes" | "usedBytes">[]): ClusterSpace {
  const disks = new Map<string, Array<(typeof nodes)[number]>>();
  for (const n of nodes) {
    if (!n.live) continue;
    const key = n.diskId ? `${hostOf(n.address)}|${n.diskId}` : `node|${n.id}`;
    disks.set(key, [...(disks.get(key) ?? []), n]);
  }
  const total = { capacityBytes: 0, dfsUsedBytes: 0, nonDfsUsedBytes: 0, freeBytes: 0 };
  for (const group of disks.values()) {
    const sum = (pick: (n: (typeof group)[number]) => number) => group.reduce((t, n) => t + pick(n), 0);
    const max = (pick: (n: (typeof group)[number]) => number) => Math.max(...group.map(pick));
    const capacity = max((n) => n.capacityBytes);
    const free = max((n) => n.freeBytes);
    const used = sum((n) => n.usedBytes);
    total.capacityBytes += capacity;
    total.freeBytes += free;
    total.dfsUsedBytes += used;
    total.nonDfsUsedBytes += Math.max(0, capacity - free - used);
  }
  return total;
}

function hostOf(address: string): string {
  try {
    return new URL(address).hostname;
  } catch {
    return address;
  }
}
