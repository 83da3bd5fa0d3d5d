import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { AdminState, ChunkHealth, DataNodeState, DataNodeStatusSchema, FsckFileSchema, type DataNodeStatus, type FsckFile, type AdminService } from "@trainfs/proto";
import { TrainfsError, joinPath } from "@trainfs/common";
import type { InodeRecord } from "./metadata-store.js";
import type { DataNodeView } from "./datanode-manager.js";
import type { NameNodeParts } from "./namenode-service.js";
import { required } from "./rpc-fields.js";

const adminStates = {
  normal: AdminState.NORMAL,
  decommissioning: AdminState.DECOMMISSIONING,
  decommissioned: AdminState.DECOMMISSIONED,
} as const;

/** What operators call: the cluster report and draining DataNodes. */
export function adminProtocol(p: NameNodeParts): ServiceImpl<typeof AdminService> {
  const status = (n: DataNodeView): DataNodeStatus =>
    create(DataNodeStatusSchema, {
      datanodeId: n.id,
      address: n.address,
      state: n.live ? DataNodeState.ALIVE : DataNodeState.DEAD,
      adminState: adminStates[n.adminState],
      capacityBytes: BigInt(n.capacityBytes),
      usedBytes: BigInt(n.usedBytes),
      freeBytes: BigInt(n.freeBytes),
      chunkCount: n.chunkCount,
      millisSinceHeartbeat: BigInt(n.lastHeartbeatMs ? Math.max(0, p.now() - n.lastHeartbeatMs) : 0),
      neverHeard: n.lastHeartbeatMs === 0,
    });

  /** Chunks on the node that would fall short of their replication without it. */
  const replicationNeededFrom = (datanodeId: string): number => {
    let most = 0;
    for (const chunkId of p.chunkMap.chunksOn(datanodeId)) {
      const inodeId = p.store.chunks.get(chunkId)?.inodeId;
      if (inodeId !== undefined) most = Math.max(most, p.store.inodes.get(inodeId)?.replication ?? 0);
    }
    return most;
  };

  return {
    async clusterStatus() {
      const counts = p.queue.counts();
      const safeMode = p.safeMode.status();
      return {
        clusterId: p.store.clusterId,
        datanodes: p.datanodes.all().map(status),
        underReplicatedChunks: BigInt(counts.underReplicated),
        missingChunks: BigInt(counts.missing),
        corruptReplicas: BigInt(p.corrupt.count()),
        pendingReplicationTasks: BigInt(p.pending.count()),
        pendingTrashTasks: BigInt(p.trash.count()),
        safeMode: {
          on: safeMode.on,
          reportedChunks: BigInt(safeMode.reportedChunks),
          totalChunks: BigInt(safeMode.totalChunks),
          threshold: safeMode.threshold,
        },
      };
    },

    async fsck(req) {
      const root = p.namespace.lookup(req.path);
      const files: FsckFile[] = [];
      const totals = { healthy: 0, under: 0, corrupt: 0, missing: 0 };
      const visit = (path: string, inode: InodeRecord) => {
        if (inode.type === "dir") {
          for (const child of p.namespace.list(inode)) visit(joinPath(path, child.name), child);
          return;
        }
        const chunks = inode.chunkIds.map((chunkId) => {
          const chunk = p.store.chunks.get(chunkId);
          const live = chunk ? p.chunkMap.liveHolders(chunk) : [];
          const corrupt = p.corrupt.holders(chunkId).map((h) => h.datanodeId);
          const health =
            live.length >= inode.replication ? ChunkHealth.HEALTHY
            : live.length > 0 ? ChunkHealth.UNDER_REPLICATED
            : corrupt.length > 0 ? ChunkHealth.CORRUPT
            : ChunkHealth.MISSING;
          if (health === ChunkHealth.HEALTHY) totals.healthy++;
          else if (health === ChunkHealth.UNDER_REPLICATED) totals.under++;
          else if (health === ChunkHealth.CORRUPT) totals.corrupt++;
          else totals.missing++;
          return {
            chunkId,
            index: chunk?.index ?? 0,
            length: BigInt(chunk?.length ?? 0),
            health,
            liveReplicas: live.map((id) => p.datanodes.address(id)),
            corruptReplicas: corrupt.map((id) => p.datanodes.address(id)),
          };
        });
        files.push(create(FsckFileSchema, { path, size: BigInt(inode.size), replication: inode.replication, chunks }));
      };
      visit(req.path, root);
      return {
        files,
        healthyChunks: BigInt(totals.healthy),
        underReplicatedChunks: BigInt(totals.under),
        corruptChunks: BigInt(totals.corrupt),
        missingChunks: BigInt(totals.missing),
      };
    },

    async decommissionDataNode(req) {
      required(req.datanode, "datanode");
      const node = p.datanodes.find(req.datanode);
      if (!node.live) throw new TrainfsError("failed_precondition", `DataNode ${node.id} (${node.address}) is dead; only a live node can be drained`);
      if (node.adminState === "normal") {
        const others = p.datanodes.liveNodes().filter((n) => n.id !== node.id && n.adminState === "normal").length;
        const needed = replicationNeededFrom(node.id);
        if (others < needed) {
          throw new TrainfsError(
            "failed_precondition",
            `cannot drain ${node.address}: some of its chunks need ${needed} replicas, but only ${others} other live DataNode(s) in service remain`,
          );
        }
        await p.store.write(() => {
          p.datanodes.setAdminState(node.id, "decommissioning");
          for (const chunkId of p.chunkMap.chunksOn(node.id)) p.replication.recheck(chunkId);
        });
      }
      return { datanode: status(p.datanodes.find(node.id)) };
    },

    async startBalancer() {
      throw new TrainfsError("unimplemented", "the balancer is not in this build yet");
    },

    async stopBalancer() {
      throw new TrainfsError("unimplemented", "the balancer is not in this build yet");
    },

    async recommissionDataNode(req) {
      required(req.datanode, "datanode");
      const node = p.datanodes.find(req.datanode);
      if (node.adminState !== "normal") {
        await p.store.write(() => {
          p.datanodes.setAdminState(node.id, "normal");
          for (const chunkId of p.chunkMap.chunksOn(node.id)) p.replication.recheck(chunkId);
        });
      }
      return { datanode: status(p.datanodes.find(node.id)) };
    },
  };
}
