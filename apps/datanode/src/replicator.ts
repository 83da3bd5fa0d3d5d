import { create } from "@bufbuild/protobuf";
import { ChunkPlanSchema } from "@trainfs/proto";
import { RpcClients, errorMessage, sendChunk, type Logger } from "@trainfs/common";
import { checkChunkId, type ChunkStore } from "./chunk-store.js";
import type { StoredReplication, TaskStore } from "./task-store.js";

/**
 * Carries out the NameNode's `replication_tasks`: this node, the source,
 * pushes its copy of a chunk to the targets through the ordinary chunk-write
 * pipeline; each target verifies the checksum, fsyncs and commits to the
 * NameNode. Tasks are persisted when received and resumed after a restart;
 * a failed one is reported in the next heartbeat so the NameNode plans it
 * again elsewhere.
 */
export class Replicator {
  private readonly running = new Set<string>();

  constructor(
    private readonly tasks: TaskStore,
    private readonly chunks: ChunkStore,
    private readonly clients: RpcClients,
    private readonly maxStreams: number,
    private readonly logger: Logger,
  ) {}

  async accept(received: ReadonlyArray<{ chunkId: string; targets: StoredReplication["targets"]; accessToken: string }>): Promise<void> {
    const nowMs = Date.now();
    const valid = received.filter((t) => {
      try {
        checkChunkId(t.chunkId);
        return t.targets.length > 0;
      } catch {
        return false;
      }
    });
    if (valid.length === 0) return;
    await this.tasks.write(() => {
      for (const t of valid) {
        this.tasks.replications.put(t.chunkId, {
          receivedMs: nowMs,
          targets: t.targets.map((x) => ({ datanodeId: x.datanodeId, address: x.address })),
          accessToken: t.accessToken,
        });
      }
    });
    this.resume();
  }

  /** Starts pending copies, up to the stream limit. */
  resume(): void {
    for (const chunkId of this.tasks.keys(this.tasks.replications, 1000)) {
      if (this.running.size >= this.maxStreams) return;
      if (this.running.has(chunkId)) continue;
      const task = this.tasks.replications.get(chunkId);
      if (!task) continue;
      this.running.add(chunkId);
      void this.copy(chunkId, task).finally(() => {
        this.running.delete(chunkId);
        this.resume();
      });
    }
  }

  /** Resolves when no copy is running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  failures(): string[] {
    return this.tasks.keys(this.tasks.failed, 10_000);
  }

  async reported(chunkIds: readonly string[]): Promise<void> {
    if (chunkIds.length === 0) return;
    await this.tasks.write(() => {
      for (const id of chunkIds) this.tasks.failed.remove(id);
    });
  }

  private async copy(chunkId: string, task: StoredReplication): Promise<void> {
    let ok = false;
    try {
      const local = await this.chunks.stat(chunkId);
      if (!local) throw new Error("this node does not hold the chunk");
      const [first] = task.targets;
      const plan = create(ChunkPlanSchema, {
        chunkId,
        index: 0,
        offset: 0n,
        length: BigInt(local.length),
        chain: task.targets.map((t) => ({ datanodeId: t.datanodeId, address: t.address })),
        accessToken: task.accessToken ?? "",
      });
      await sendChunk(this.clients.dataNode(first!.address), this.chunks.chunkPath(chunkId), plan, {
        expectedChecksum: local.checksum,
      });
      ok = true;
      this.logger.info({ chunkId, targets: task.targets.map((t) => t.address) }, "replica copied");
    } catch (err) {
      this.logger.warn({ chunkId, targets: task.targets.map((t) => t.address), err: errorMessage(err) }, "replica copy failed");
    }
    await this.tasks.write(() => {
      this.tasks.replications.remove(chunkId);
      if (!ok) this.tasks.failed.put(chunkId, Date.now());
    });
  }
}
