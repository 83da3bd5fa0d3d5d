import { AdminState, DataNodeState, type ClusterStatusResponse, type DataNodeStatus as DataNodeStatusMessage } from "@trainfs/proto";

export interface DataNodeStatus {
  id: string;
  address: string;
  state: "alive" | "dead";
  adminState: "normal" | "decommissioning" | "decommissioned";
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  chunkCount: number;
  /** Seconds since the last heartbeat; null if never heard from since the NameNode started. */
  secondsSinceHeartbeat: number | null;
}

export interface ClusterStatus {
  clusterId: string;
  datanodes: DataNodeStatus[];
  underReplicatedChunks: number;
  missingChunks: number;
  /** Replicas found bad and not yet trashed. */
  corruptReplicas: number;
  pendingReplicationTasks: number;
  pendingTrashTasks: number;
  safeMode: { on: boolean; reportedChunks: number; totalChunks: number; threshold: number };
}

const adminStates: Record<AdminState, DataNodeStatus["adminState"]> = {
  [AdminState.UNSPECIFIED]: "normal",
  [AdminState.NORMAL]: "normal",
  [AdminState.DECOMMISSIONING]: "decommissioning",
  [AdminState.DECOMMISSIONED]: "decommissioned",
};

export function toDataNodeStatus(n: DataNodeStatusMessage): DataNodeStatus {
  return {
    id: n.datanodeId,
    address: n.address,
    state: n.state === DataNodeState.ALIVE ? "alive" : "dead",
    adminState: adminStates[n.adminState],
    capacityBytes: Number(n.capacityBytes),
    usedBytes: Number(n.usedBytes),
    freeBytes: Number(n.freeBytes),
    chunkCount: n.chunkCount,
    secondsSinceHeartbeat: n.neverHeard ? null : Number(n.millisSinceHeartbeat) / 1000,
  };
}

export function toClusterStatus(r: ClusterStatusResponse): ClusterStatus {
  return {
    clusterId: r.clusterId,
    datanodes: r.datanodes.map(toDataNodeStatus),
    underReplicatedChunks: Number(r.underReplicatedChunks),
    missingChunks: Number(r.missingChunks),
    corruptReplicas: Number(r.corruptReplicas),
    pendingReplicationTasks: Number(r.pendingReplicationTasks),
    pendingTrashTasks: Number(r.pendingTrashTasks),
    safeMode: {
      on: r.safeMode?.on ?? false,
      reportedChunks: Number(r.safeMode?.reportedChunks ?? 0),
      totalChunks: Number(r.safeMode?.totalChunks ?? 0),
      threshold: r.safeMode?.threshold ?? 0,
    },
  };
}
