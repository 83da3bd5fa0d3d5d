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
  /** Why each failed copy failed, for the log line of the heartbeat that reports it. */
  private readonly reasons = new Map<string, string>();
  /**
   * Failures the task store could not record (its disk is full): reported
   * from memory all the same, so the NameNode plans the copy again now
   * rather than after its timeout.
   */
  private readonly unrecorded = new Set<string>();

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
    try {
      await this.tasks.write(() => {
        for (const t of valid) {
          this.tasks.replications.put(t.chunkId, {
            receivedMs: nowMs,
            targets: t.targets.map((x) => ({ datanodeId: x.datanodeId, address: x.address })),
            accessToken: t.accessToken,
          });
        }
      });
    } catch (err) {
      // A failure of this node's own disk, not of the NameNode or a target: said so,
      // and the tasks reported failed at the next heartbeat.
      const reason = `this DataNode cannot record the task in its task store (is its disk full?): ${errorMessage(err)}`;
      this.logger.error({ chunks: valid.length, err: errorMessage(err) }, "cannot record replication tasks on this DataNode");
      for (const t of valid) this.failLocally(t.chunkId, reason);
      return;
    }
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

  /** Copies that failed and are not yet reported (HeartBeatRequest.failed_replication_chunk_ids). */
  failures(): string[] {
    const recorded = this.tasks.keys(this.tasks.failed, 10_000);
    return [...new Set([...recorded, ...this.unrecorded])];
  }

  /** Why a failed copy failed (until it is reported), if known since start. */
  failureReason(chunkId: string): string | undefined {
    return this.reasons.get(chunkId);
  }

  /** The NameNode has heard of these failures. */
  async reported(chunkIds: readonly string[]): Promise<void> {
    if (chunkIds.length === 0) return;
    this.logger.info(
      { failures: chunkIds.map((chunkId) => ({ chunkId, reason: this.reasons.get(chunkId) ?? "failed before a restart" })) },
      "failed replica copies reported to the NameNode",
    );
    for (const id of chunkIds) {
      this.reasons.delete(id);
      this.unrecorded.delete(id);
    }
    await this.tasks.write(() => {
      for (const id of chunkIds) this.tasks.failed.remove(id);
    });
  }

  private failLocally(chunkId: string, reason: string): void {
    this.reasons.set(chunkId, reason);
    this.unrecorded.add(chunkId);
  }

  private async copy(chunkId: string, task: StoredReplication): Promise<void> {
    let ok = false;
    try {
      const local = await this.chunks.stat(chunkId);
      if (!local) throw new Error(`chunk ${chunkId} is not on this DataNode (deleted or quarantined since the task was given)`);
      const [first] = task.targets;
      const plan = create(ChunkPlanSchema, {
        chunkId,
        index: 0,
        offset: 0n,
        length: BigInt(local.length),
        chain: task.targets.map((t) => ({ datanodeId: t.datanodeId, address: t.address })),
        accessToken: task.accessToken ?? "",
      });
      await sendChunk(this.clients.dataNode(first!.address), this.chunks.source(chunkId), plan, {
        expectedChecksum: local.checksum,
      });
      ok = true;
      this.logger.info({ chunkId, targets: task.targets.map((t) => t.address) }, "replica copied");
    } catch (err) {
      // The error names where it happened: a target ("datanode <address>: ..."), or this node (its copy, its disk).
      this.reasons.set(chunkId, errorMessage(err));
      this.logger.warn({ chunkId, targets: task.targets.map((t) => t.address), err: errorMessage(err) }, "replica copy failed");
    }
    try {
      await this.tasks.write(() => {
        this.tasks.replications.remove(chunkId);
        if (!ok) this.tasks.failed.put(chunkId, Date.now());
      });
    } catch (err) {
      // This node's task store, not the copy nor the NameNode, failed.
      this.logger.error({ chunkId, copied: ok, err: errorMessage(err) }, "cannot record the outcome of a replica copy on this DataNode (is its disk full?)");
      if (!ok) this.unrecorded.add(chunkId);
    }
  }
}
