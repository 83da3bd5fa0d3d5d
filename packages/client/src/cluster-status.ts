import {
  AdminState,
  DataNodeState,
  type BalancerStatus as BalancerStatusMessage,
  type ClusterHistoryResponse,
  type ClusterStatusResponse,
  type GetHaStatusResponse,
  type DataNodeStatus as DataNodeStatusMessage,
  type SafeModeStatus as SafeModeStatusMessage,
} from "@trainfs/proto";

export interface DataNodeStatus {
  id: string;
  address: string;
  /** The failure domain the DataNode reported; "" for none. */
  zone: string;
  state: "alive" | "dead";
  adminState: "normal" | "decommissioning" | "decommissioned";
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  chunkCount: number;
  /** Seconds since the last heartbeat; null if never heard from since the NameNode started. */
  secondsSinceHeartbeat: number | null;
  /** The filesystem of its data directory; nodes of one host with the same id share a disk ("" if unknown). */
  diskId: string;
  /** Packed chunks: bytes of deleted records not yet compacted away, and bytes compaction gave back since the node started. */
  volumeDeadBytes: number;
  compactionReclaimedBytesTotal: number;
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
  /** `manual`: entered by an operator (SetSafeMode), the namespace read-only until one leaves it. */
  safeMode: SafeModeStatus;
  /** Chunks whose replicas break the placement policy (all in one zone while several are alive). */
  misplacedChunks: number;
  balancer: BalancerStatus;
  /** The NameNode's release and when it started (Unix ms). */
  version: string;
  startedMs: number;
  /** Complete files, directories (the root included) and chunks (files and writes in progress). */
  files: number;
  directories: number;
  chunks: number;
  /** The live DataNodes' space, each disk counted once where nodes share one. */
  space: { capacityBytes: number; dfsUsedBytes: number; nonDfsUsedBytes: number; freeBytes: number };
  /** Why under-replicated chunks wait with no copy planned ("needs 3 live DataNodes in service, 2 are"); "" when none do. */
  replicationBlocked: string;
}

export interface SafeModeStatus {
  on: boolean;
  manual: boolean;
  reportedChunks: number;
  totalChunks: number;
  threshold: number;
}

export function toSafeModeStatus(s: SafeModeStatusMessage | undefined): SafeModeStatus {
  return {
    on: s?.on ?? false,
    manual: s?.manual ?? false,
    reportedChunks: Number(s?.reportedChunks ?? 0),
    totalChunks: Number(s?.totalChunks ?? 0),
    threshold: s?.threshold ?? 0,
  };
}

/** The NameNode's recent samples, oldest first; NaN where a value was unknown. */
export interface ClusterHistory {
  stepMs: number;
  timesMs: number[];
  capacityBytes: number[];
  dfsUsedBytes: number[];
  freeBytes: number[];
  readBytesPerSecond: number[];
  writeBytesPerSecond: number[];
  rpcPerSecond: number[];
  rpcMeanMs: number[];
  underReplicatedChunks: number[];
  missingChunks: number[];
  corruptReplicas: number[];
  datanodes: Array<{ id: string; address: string; readBytesPerSecond: number[]; writeBytesPerSecond: number[]; heartbeatAgeSeconds: number[] }>;
}

export function toClusterHistory(r: ClusterHistoryResponse): ClusterHistory {
  return {
    stepMs: r.stepMs,
    timesMs: r.timesMs.map(Number),
    capacityBytes: r.capacityBytes,
    dfsUsedBytes: r.dfsUsedBytes,
    freeBytes: r.freeBytes,
    readBytesPerSecond: r.readBytesPerSecond,
    writeBytesPerSecond: r.writeBytesPerSecond,
    rpcPerSecond: r.rpcPerSecond,
    rpcMeanMs: r.rpcMeanMs,
    underReplicatedChunks: r.underReplicatedChunks,
    missingChunks: r.missingChunks,
    corruptReplicas: r.corruptReplicas,
    datanodes: r.datanodes.map((n) => ({
      id: n.datanodeId,
      address: n.address,
      readBytesPerSecond: n.readBytesPerSecond,
      writeBytesPerSecond: n.writeBytesPerSecond,
      heartbeatAgeSeconds: n.heartbeatAgeSeconds,
    })),
  };
}

/** The balancer's run: moves replicas from the fullest DataNodes to the emptiest. */
export interface BalancerStatus {
  running: boolean;
  /** Percentage points a node's used share may differ from the cluster's mean. */
  thresholdPercent: number;
  movesDone: number;
  bytesMoved: number;
  movesInFlight: number;
  /** The largest distance of a node's used share from the mean, in percentage points. */
  maxDeviationPercent: number;
  /** Why it is not running ("balanced", "stopped by an operator", …); "" while it runs. */
  stopReason: string;
}

export function toBalancerStatus(b: BalancerStatusMessage | undefined): BalancerStatus {
  return {
    running: b?.running ?? false,
    thresholdPercent: b?.thresholdPercent ?? 0,
    movesDone: Number(b?.movesDone ?? 0),
    bytesMoved: Number(b?.bytesMoved ?? 0),
    movesInFlight: b?.movesInFlight ?? 0,
    maxDeviationPercent: b?.maxDeviationPercent ?? 0,
    stopReason: b?.stopReason ?? "",
  };
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
    zone: n.zone,
    state: n.state === DataNodeState.ALIVE ? "alive" : "dead",
    adminState: adminStates[n.adminState],
    capacityBytes: Number(n.capacityBytes),
    usedBytes: Number(n.usedBytes),
    freeBytes: Number(n.freeBytes),
    chunkCount: n.chunkCount,
    secondsSinceHeartbeat: n.neverHeard ? null : Number(n.millisSinceHeartbeat) / 1000,
    diskId: n.diskId,
    volumeDeadBytes: Number(n.volumeDeadBytes),
    compactionReclaimedBytesTotal: Number(n.compactionReclaimedBytesTotal),
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
    safeMode: toSafeModeStatus(r.safeMode),
    misplacedChunks: Number(r.misplacedChunks),
    balancer: toBalancerStatus(r.balancer),
    version: r.version,
    startedMs: Number(r.startedMs),
    files: Number(r.files),
    directories: Number(r.directories),
    chunks: Number(r.chunks),
    space: {
      capacityBytes: Number(r.space?.capacityBytes ?? 0),
      dfsUsedBytes: Number(r.space?.dfsUsedBytes ?? 0),
      nonDfsUsedBytes: Number(r.space?.nonDfsUsedBytes ?? 0),
      freeBytes: Number(r.space?.freeBytes ?? 0),
    },
    replicationBlocked: r.replicationBlocked,
  };
}

/** A NameNode's high-availability role and the members it knows of (GetHaStatus). */
export interface HaStatus {
  /** false for a single NameNode: role is then "single". */
  haEnabled: boolean;
  role: "active" | "standby" | "single";
  advertiseAddress: string;
  /** "" when no active NameNode is elected. */
  activeAddress: string;
  epoch: number;
  appliedSeq: number;
  members: Array<{ address: string; role: string; appliedSeq: number }>;
}

export function toHaStatus(r: GetHaStatusResponse): HaStatus {
  return {
    haEnabled: r.haEnabled,
    role: r.role as HaStatus["role"],
    advertiseAddress: r.advertiseAddress,
    activeAddress: r.activeAddress,
    epoch: Number(r.epoch),
    appliedSeq: Number(r.appliedSeq),
    members: r.members.map((m) => ({ address: m.address, role: m.role, appliedSeq: Number(m.appliedSeq) })),
  };
}
