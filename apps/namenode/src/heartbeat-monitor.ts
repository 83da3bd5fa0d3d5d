import type { Logger } from "@trainfs/common";
import type { ChunkMap } from "./chunk-map.js";
import type { DataNodeManager } from "./datanode-manager.js";
import type { MetadataStore } from "./metadata-store.js";
import type { ReplicationMonitor } from "./replication-monitor.js";
import type { Trash } from "./trash.js";

/**
 * Declares DataNodes dead when their last heartbeat is older than the
 * timeout: their replicas stop counting at once (readers and writers are no
 * longer sent there), every chunk that lost one is queued for
 * re-replication, copies it was part of are planned again, and the
 * deletions it owed are dropped. A dead node that
 * comes back must register and report again; its report brings back both its
 * replicas and, as unknown chunks, whatever was deleted meanwhile.
 */
export class HeartbeatMonitor {
  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
    private readonly chunkMap: ChunkMap,
    private readonly replication: ReplicationMonitor,
    private readonly trash: Trash,
    private readonly logger: Logger,
  ) {}

  async runOnce(): Promise<void> {
    for (const id of this.datanodes.overdue()) {
      this.datanodes.markDead(id);
      const lost = await this.store.write(() => {
        const chunkIds = this.chunkMap.dropNode(id);
        for (const chunkId of chunkIds) this.replication.recheck(chunkId);
        this.replication.onNodeDead(id);
        this.trash.dropNode(id);
        return chunkIds.length;
      });
      this.logger.warn(
        { datanodeId: id, address: this.datanodes.address(id), replicasLost: lost, timeoutMs: this.datanodes.heartbeatTimeoutMs },
        "DataNode is dead: no heartbeat within the timeout",
      );
    }
  }
}
