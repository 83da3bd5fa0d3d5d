import { ChunkReceipts, ChunkTokens, TrainfsError, type Logger } from "@trainfs/common";
import { ChunkManager } from "./chunks/chunk-manager.js";
import { ClusterHistory } from "./cluster-history.js";
import { ClusterManager } from "./cluster-manager.js";
import type { NameNodeConfig } from "./config.js";
import { DataNodeManager, clusterSpace } from "./datanode-manager.js";
import { FileSystem } from "./file-system.js";
import { HeartbeatMonitor } from "./heartbeat-monitor.js";
import { LeaseManager } from "./lease-manager.js";
import type { MetadataStore } from "./metadata-store.js";
import { Namespace } from "./namespace.js";
import { SafeMode } from "./safe-mode.js";
import { UploadManager } from "./upload-manager.js";

/** Signs chunk access tokens; "" for every chunk when the cluster has no secret. */
export interface ChunkTokenIssuer {
  read(chunkId: string): string;
  /** Bound to one attempt (an upload, a copy) and the DataNodes of its chain. */
  write(chunkId: string, attempt: string, datanodeIds: readonly string[]): string;
}

/** This NameNode's place in a high-availability cluster (ha/ha-coordinator.ts), or a single NameNode's stand-in. */
export interface HaFacade {
  enabled: boolean;
  /** Serves clients and hands out work: the active NameNode, or a single one. */
  isActive(): boolean;
  /** Holds the cluster's metadata (a standby that has not loaded it yet does not): may answer DataNodes' registrations. */
  inSync(): boolean;
  /** What this NameNode knows without asking etcd. */
  local(): HaLocalStatus;
  /** With the live members, read from etcd. */
  status(): Promise<HaLocalStatus & { members: Array<{ address: string; role: string; appliedSeq: number }> }>;
  failover(target: string | undefined): Promise<{ activeAddress: string; epoch: number }>;
}

export interface HaLocalStatus {
  role: "active" | "standby" | "single";
  advertiseAddress: string;
  activeAddress: string;
  epoch: number;
  appliedSeq: number;
}

/** A NameNode without HA: always active. */
export const singleNameNode = (advertiseAddress: () => string): HaFacade => ({
  enabled: false,
  isActive: () => true,
  inSync: () => true,
  local: () => ({ role: "single", advertiseAddress: advertiseAddress(), activeAddress: advertiseAddress(), epoch: 0, appliedSeq: 0 }),
  status: async () => ({ role: "single", advertiseAddress: advertiseAddress(), activeAddress: advertiseAddress(), epoch: 0, appliedSeq: 0, members: [] }),
  failover: async () => {
    throw new TrainfsError("failed_precondition", "high availability is off on this NameNode (no haEtcd): there is no other NameNode to hand over to");
  },
});

/**
 * What the RPC handlers see of the NameNode: a few facades, each the one
 * mechanism a group of RPCs calls. The handlers decode, make one call on
 * one of these, and encode.
 */
export interface NameNodeFacades {
  /** Namespace verbs and reads (client and admin services). */
  files: FileSystem;
  /** The write path: PutFile to ConfirmFile or AbandonFile. */
  writes: UploadManager;
  /** Chunk reports, commits, bad replicas, counts. */
  chunks: ChunkManager;
  /** Registration, heartbeats, the cluster report, draining, the balancer. */
  cluster: ClusterManager;
  /** DataNode addresses for the answers. */
  datanodes: DataNodeManager;
  tokens: ChunkTokenIssuer;
  /** Checks the DataNodes' receipts that ConfirmFile carries. */
  receipts: ChunkReceipts;
  maxReplication: number;
  /** The cluster's recent history, sampled in memory (ClusterHistory). */
  history: ClusterHistory;
  /** Its role in a high-availability cluster; a single NameNode is always active. */
  ha: HaFacade;
  /** When this NameNode started (Unix ms). */
  startedMs: number;
  now: () => number;
}

/** The facades and the NameNode's background mechanisms, wired together once. */
export interface NameNodeParts extends NameNodeFacades {
  store: MetadataStore;
  namespace: Namespace;
  safeMode: SafeMode;
  heartbeats: HeartbeatMonitor;
  /** Client and admin calls served so far: set once the RPC server's metrics exist. */
  rpcTotals: { read: () => { count: number; seconds: number } };
}

/** Builds every mechanism of a NameNode over its store (production and unit tests alike). */
export function assembleNameNode(store: MetadataStore, config: NameNodeConfig, logger: Logger, now: () => number = Date.now): NameNodeParts {
  const tokens = config.clusterSecret ? new ChunkTokens(config.clusterSecret, config.chunkTokenTtlMs, now) : undefined;
  const datanodes = new DataNodeManager(store, config.heartbeatTimeoutMs, now);
  const namespace = new Namespace(store);
  const leases = new LeaseManager(store, config.uploadLeaseMs, config.uploadLeaseSoftMs, now);
  const safeMode = new SafeMode(store, config.safeModeThreshold, config.safeModeTimeoutMs, logger, now);
  const chunks = new ChunkManager(store, datanodes, safeMode, leases, {
    placementPolicy: config.placementPolicy,
    maxReplicationStreams: config.maxReplicationStreams,
    replicationTimeoutMs: config.replicationTimeoutMs,
    maxReplicationTasksPerHeartbeat: config.maxReplicationTasksPerHeartbeat,
    maxTrashPerHeartbeat: config.maxTrashPerHeartbeat,
    trashRedeliveryMs: config.trashRedeliveryMs,
    balancer: {
      bandwidthBytesPerSecond: config.balancerBandwidthBytesPerSecond,
      maxMoves: config.balancerMaxMoves,
      defaultThresholdPercent: config.balancerThresholdPercent,
    },
  }, logger, now);
  // Once chunk reports are in, unknown chunks reported meanwhile go to trash
  // if still unknown, and every chunk's replica count is checked (HDFS's
  // initial replication queue).
  safeMode.onExit(async () => {
    await chunks.trashDeferred(safeMode.takeDeferred());
    chunks.scan.start();
  });
  const rpcTotals = { read: () => ({ count: 0, seconds: 0 }) };
  const history = new ClusterHistory(
    {
      now,
      datanodes: () => datanodes.all(),
      space: () => clusterSpace(datanodes.all()),
      chunks: () => chunks.counts(),
      rpcTotals: () => rpcTotals.read(),
    },
    config.historyIntervalMs,
    Math.min(10_000, Math.max(2, Math.ceil(config.historyRetentionMs / config.historyIntervalMs))),
  );
  return {
    store,
    namespace,
    history,
    rpcTotals,
    startedMs: now(),
    ha: singleNameNode(() => `http://${config.host}:${config.port}`),
    safeMode,
    heartbeats: new HeartbeatMonitor(datanodes, chunks, logger),
    files: new FileSystem(store, namespace, chunks, config.maxReplication, now),
    writes: new UploadManager(store, namespace, chunks, datanodes, leases, config, now),
    chunks,
    cluster: new ClusterManager(store, datanodes, chunks, safeMode),
    datanodes,
    tokens: {
      read: (chunkId) => tokens?.issue(chunkId, "read") ?? "",
      write: (chunkId, attempt, datanodeIds) => tokens?.issue(chunkId, "write", { attempt, datanodeIds }) ?? "",
    },
    receipts: new ChunkReceipts(config.clusterSecret),
    maxReplication: config.maxReplication,
    now,
  };
}
