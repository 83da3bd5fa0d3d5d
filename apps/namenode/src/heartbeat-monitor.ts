import type { Logger } from "@trainfs/common";
import type { ChunkManager } from "./chunks/chunk-manager.js";
import type { DataNodeManager } from "./datanode-manager.js";

/**
 * Declares DataNodes dead when their last heartbeat is older than the
 * timeout: their replicas stop counting at once (readers and writers are no
 * longer sent there), and the chunk manager queues every chunk that lost
 * one, plans again the copies the node took part in, and drops the
 * deletions it owed. A dead node that comes back must register and report
 * again; its report brings back both its replicas and, as unknown chunks,
 * whatever was deleted meanwhile.
 */
export class HeartbeatMonitor {
  constructor(
    private readonly datanodes: DataNodeManager,
    private readonly chunks: ChunkManager,
    private readonly logger: Logger,
  ) {}

  async runOnce(): Promise<void> {
    for (const id of this.datanodes.overdue()) {
      this.datanodes.markDead(id);
      const lost = await this.chunks.nodeDead(id);
      this.logger.warn(
        { datanodeId: id, address: this.datanodes.address(id), replicasLost: lost, timeoutMs: this.datanodes.heartbeatTimeoutMs },
        "DataNode is dead: no heartbeat within the timeout",
      );
    }
  }
}
