import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AdminState,
  BalancerStatusSchema,
  ChunkHealth,
  DataNodeState,
  DataNodeStatusSchema,
  FsckFileSchema,
  type AdminService,
  type BalancerStatus as BalancerStatusMessage,
  type DataNodeStatus,
} from "@trainfs/proto";
import { TRAINFS_VERSION, safeNumber } from "@trainfs/common";
import type { BalancerStatus } from "./chunks/balancer.js";
import type { ChunkHealth as Health } from "./chunks/chunk-manager.js";
import type { DataNodeView } from "./datanode-manager.js";
import type { NameNodeFacades } from "./namenode-facades.js";
import type { SafeModeStatus } from "./safe-mode.js";
import { required } from "./rpc-fields.js";

/** The NameNode's software version, from its package (src/ and dist/ both sit beside package.json). */

const adminStates = {
  normal: AdminState.NORMAL,
  decommissioning: AdminState.DECOMMISSIONING,
  decommissioned: AdminState.DECOMMISSIONED,
} as const;

const healths: Record<Health, ChunkHealth> = {
  healthy: ChunkHealth.HEALTHY,
  under_replicated: ChunkHealth.UNDER_REPLICATED,
  corrupt: ChunkHealth.CORRUPT,
  missing: ChunkHealth.MISSING,
};

/** What operators call: the cluster report, fsck, draining DataNodes and the balancer. */
export function adminProtocol(p: NameNodeFacades): ServiceImpl<typeof AdminService> {
  const status = (n: DataNodeView): DataNodeStatus =>
    create(DataNodeStatusSchema, {
      datanodeId: n.id,
      address: n.address,
      zone: n.zone,
      state: n.live ? DataNodeState.ALIVE : DataNodeState.DEAD,
      adminState: adminStates[n.adminState],
      capacityBytes: BigInt(n.capacityBytes),
      usedBytes: BigInt(n.usedBytes),
      freeBytes: BigInt(n.freeBytes),
      chunkCount: n.chunkCount,
      millisSinceHeartbeat: BigInt(n.lastHeartbeatMs ? Math.max(0, p.now() - n.lastHeartbeatMs) : 0),
      neverHeard: n.lastHeartbeatMs === 0,
      diskId: n.diskId,
      volumeDeadBytes: BigInt(n.volumeDeadBytes),
      compactionReclaimedBytesTotal: BigInt(n.compactionReclaimedBytesTotal),
    });
  const safeMode = (s: SafeModeStatus) => ({
    on: s.on,
    manual: s.manual,
    reportedChunks: BigInt(s.reportedChunks),
    totalChunks: BigInt(s.totalChunks),
    threshold: s.threshold,
  });
  const balancer = (b: BalancerStatus): BalancerStatusMessage =>
    create(BalancerStatusSchema, {
      running: b.running,
      thresholdPercent: b.thresholdPercent,
      movesDone: BigInt(b.movesDone),
      bytesMoved: BigInt(b.bytesMoved),
      movesInFlight: b.movesInFlight,
      maxDeviationPercent: b.maxDeviationPercent,
      stopReason: b.stopReason,
    });

  return {
    async clusterStatus() {
      const r = p.cluster.report();
      return {
        clusterId: r.clusterId,
        datanodes: r.datanodes.map(status),
        underReplicatedChunks: BigInt(r.chunks.underReplicated),
        missingChunks: BigInt(r.chunks.missing),
        misplacedChunks: BigInt(r.chunks.misplaced),
        corruptReplicas: BigInt(r.chunks.corruptReplicas),
        pendingReplicationTasks: BigInt(r.chunks.pendingReplications),
        pendingTrashTasks: BigInt(r.chunks.pendingTrash),
        safeMode: safeMode(r.safeMode),
        balancer: balancer(r.balancer),
        version: TRAINFS_VERSION,
        startedMs: BigInt(p.startedMs),
        files: BigInt(r.files),
        directories: BigInt(r.directories),
        chunks: BigInt(r.chunkTotal),
        space: {
          capacityBytes: BigInt(r.space.capacityBytes),
          dfsUsedBytes: BigInt(r.space.dfsUsedBytes),
          nonDfsUsedBytes: BigInt(r.space.nonDfsUsedBytes),
          freeBytes: BigInt(r.space.freeBytes),
        },
        replicationBlocked: r.replicationBlocked,
      };
    },

    async clusterHistory(req) {
      return p.history.read(safeNumber(req.sinceMs, "since_ms"));
    },

    async fsck(req) {
      const report = p.files.fsck(req.path);
      return {
        files: report.files.map((f) =>
          create(FsckFileSchema, {
            path: f.path,
            size: BigInt(f.size),
            replication: f.replication,
            chunks: f.chunks.map((c) => ({
              chunkId: c.chunkId,
              index: c.index,
              length: BigInt(c.length),
              health: healths[c.health],
              liveReplicas: c.live.map((id) => p.datanodes.address(id)),
              corruptReplicas: c.corrupt.map((id) => p.datanodes.address(id)),
            })),
          }),
        ),
        healthyChunks: BigInt(report.totals.healthy),
        underReplicatedChunks: BigInt(report.totals.under_replicated),
        corruptChunks: BigInt(report.totals.corrupt),
        missingChunks: BigInt(report.totals.missing),
      };
    },

    async decommissionDataNode(req) {
      required(req.datanode, "datanode");
      return { datanode: status(await p.cluster.decommission(req.datanode)) };
    },

    async recommissionDataNode(req) {
      required(req.datanode, "datanode");
      return { datanode: status(await p.cluster.recommission(req.datanode)) };
    },

    async startBalancer(req) {
      const started = p.chunks.balancer.start({
        thresholdPercent: req.thresholdPercent,
        bandwidthBytesPerSecond: safeNumber(req.bandwidthBytesPerSecond, "bandwidth_bytes_per_second"),
        maxMoves: req.maxMovesInFlight,
      });
      return { balancer: balancer(started) };
    },

    async stopBalancer() {
      return { balancer: balancer(p.chunks.balancer.stop()) };
    },

    async setSafeMode(req) {
      return { safeMode: safeMode(await p.cluster.setSafeMode(req.on)) };
    },

    async getHaStatus() {
      const s = await p.ha.status();
      return {
        haEnabled: p.ha.enabled,
        role: s.role,
        advertiseAddress: s.advertiseAddress,
        activeAddress: s.activeAddress,
        epoch: BigInt(s.epoch),
        appliedSeq: BigInt(s.appliedSeq),
        members: s.members.map((m) => ({ address: m.address, role: m.role, appliedSeq: BigInt(m.appliedSeq) })),
      };
    },

    async failover(req) {
      const r = await p.ha.failover(req.targetAddress.trim().replace(/\/+$/, "") || undefined);
      return { activeAddress: r.activeAddress, epoch: BigInt(r.epoch) };
    },
  };
}
