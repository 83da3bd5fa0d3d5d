import { TrainfsError } from "@trainfs/common";
import type { BalancerStatus } from "./chunks/balancer.js";
import type { ChunkManager, HeartbeatWork } from "./chunks/chunk-manager.js";
import { clusterSpace, type ClusterSpace, type DataNodeManager, type DataNodeView } from "./datanode-manager.js";
import type { MetadataStore } from "./metadata-store.js";
import type { SafeMode, SafeModeStatus } from "./safe-mode.js";

export interface DataNodeSpace {
  capacityBytes: number;
  freeBytes: number;
  usedBytes: number;
  chunkCount: number;
  diskId?: string;
  bytesReadTotal?: number;
  bytesWrittenTotal?: number;
  volumeDeadBytes?: number;
  compactionReclaimedBytesTotal?: number;
}

export interface ClusterReport {
  clusterId: string;
  datanodes: DataNodeView[];
  chunks: ReturnType<ChunkManager["counts"]>;
  safeMode: SafeModeStatus;
  balancer: BalancerStatus;
  files: number;
  directories: number;
  chunkTotal: number;
  space: ClusterSpace;
  replicationBlocked: string;
}

/** DataNode ids are signed into chunk tokens and travel in headers: a safe alphabet only. */
const DATANODE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ZONE = /^[A-Za-z0-9._-]{0,64}$/;

/**
 * The cluster's DataNodes as the NameNode manages them (HDFS's
 * DatanodeManager with the admin verbs): registration, heartbeats and the
 * work they carry back, the cluster report, draining and the balancer. One
 * method per RPC of the DataNode protocol and the admin service.
 */
export class ClusterManager {
  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
    private readonly chunks: ChunkManager,
    private readonly safeMode: SafeMode,
  ) {}

  /** A DataNode announces itself; returns the heartbeat timeout it must beat and the cluster id it must keep. */
  async register(r: { datanodeId: string; address: string; capacityBytes: number; freeBytes: number; clusterId: string; zone: string; diskId?: string }, standby = false) {
    if (!DATANODE_ID.test(r.datanodeId)) {
      throw new TrainfsError("invalid_argument", `datanode_id ${JSON.stringify(r.datanodeId.slice(0, 140))} must be 1 to 128 characters of [A-Za-z0-9_-]`);
    }
    if (!ZONE.test(r.zone)) throw new TrainfsError("invalid_argument", `zone ${JSON.stringify(r.zone.slice(0, 80))} must be at most 64 characters of [A-Za-z0-9._-]`);
    checkAddress(r.address);
    const clusterId = this.store.clusterId;
    if (r.clusterId && r.clusterId !== clusterId) {
      throw new TrainfsError(
        "failed_precondition",
        `DataNode ${r.datanodeId} belongs to cluster ${r.clusterId}, but this NameNode runs cluster ${clusterId}; refusing it so that its chunks are not taken for garbage`,
      );
    }
    await this.datanodes.register(r.datanodeId, r.address, r.capacityBytes, r.freeBytes, r.zone, r.diskId, !standby);
    return { heartbeatTimeoutMs: this.datanodes.heartbeatTimeoutMs, clusterId };
  }

  /**
   * A DataNode's heartbeat: its space is noted and it takes its work; an
   * unknown (or dead) node is told to register again.
   */
  async heartbeat(datanodeId: string, space: DataNodeSpace, deleted: readonly string[], failedCopies: readonly string[]): Promise<HeartbeatWork | "reregister"> {
    // A node whose heartbeat was late but that was not declared dead counted
    // for nothing meanwhile: copies may have been made of its chunks, and
    // once it counts again they are surplus nobody else would look at.
    const late = this.datanodes.isRegistered(datanodeId) && !this.datanodes.isLive(datanodeId);
    if (!this.datanodes.heartbeat(datanodeId, space)) return "reregister";
    if (this.datanodes.takeReportRequest(datanodeId)) return "reregister";
    if (late) await this.chunks.nodeBack(datanodeId);
    return this.chunks.heartbeat(datanodeId, deleted, failedCopies);
  }

  /**
   * A heartbeat to an HA standby: liveness and space only, no work (the
   * active NameNode hands it out) and nothing written.
   */
  standbyHeartbeat(datanodeId: string, space: DataNodeSpace): "reregister" | "ok" {
    return this.datanodes.heartbeat(datanodeId, space) ? "ok" : "reregister";
  }

  report(): ClusterReport {
    const datanodes = this.datanodes.all();
    return {
      clusterId: this.store.clusterId,
      datanodes,
      files: this.store.fileCount(),
      directories: this.store.directoryCount(),
      chunkTotal: this.store.chunkCount(),
      space: clusterSpace(datanodes),
      replicationBlocked: this.chunks.replicationBlocked(),
      chunks: this.chunks.counts(),
      safeMode: this.safeMode.status(),
      balancer: this.chunks.balancer.status(),
    };
  }

  /** Enters (read-only namespace, no replication or trash) or leaves safe mode by an operator's hand. */
  async setSafeMode(on: boolean): Promise<SafeModeStatus> {
    if (on) await this.safeMode.enter();
    else await this.safeMode.leave();
    return this.safeMode.status();
  }

  /** Drains a live DataNode: no new chunks, and every chunk it holds copied elsewhere first. */
  async decommission(idOrAddress: string): Promise<DataNodeView> {
    const node = this.datanodes.find(idOrAddress);
    if (!node.live) throw new TrainfsError("failed_precondition", `DataNode ${node.id} (${node.address}) is dead; only a live node can be drained`);
    if (node.adminState === "normal") {
      const others = this.datanodes.liveNodes().filter((n) => n.id !== node.id && n.adminState === "normal").length;
      const needed = this.replicationNeededFrom(node.id);
      if (others < needed) {
        throw new TrainfsError(
          "failed_precondition",
          `cannot drain ${node.address}: some of its chunks need ${needed} replicas, but only ${others} other live DataNode(s) in service remain`,
        );
      }
      await this.setAdminState(node.id, "decommissioning");
    }
    return this.datanodes.find(node.id);
  }

  /** Puts a drained (or draining) DataNode back in service. */
  async recommission(idOrAddress: string): Promise<DataNodeView> {
    const node = this.datanodes.find(idOrAddress);
    if (node.adminState !== "normal") await this.setAdminState(node.id, "normal");
    return this.datanodes.find(node.id);
  }

  private async setAdminState(id: string, state: "normal" | "decommissioning"): Promise<void> {
    await this.store.write(() => {
      this.datanodes.setAdminState(id, state);
      this.chunks.recheck(this.chunks.chunksOn(id));
    });
  }

  /** The highest replication among the chunks on the node: how many other in-service nodes draining it needs. */
  private replicationNeededFrom(datanodeId: string): number {
    let most = 0;
    for (const chunkId of this.chunks.chunksOn(datanodeId)) most = Math.max(most, this.chunks.countReplicas(chunkId)?.replication ?? 0);
    return most;
  }
}

function checkAddress(address: string): void {
  let url: URL | undefined;
  try {
    url = new URL(address);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TrainfsError("invalid_argument", `address ${JSON.stringify(address)} is not an http(s) base URL like http://10.0.0.7:9866`);
  }
}
